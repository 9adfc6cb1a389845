"""The browser console: its Vue source (src/), built by Vite into dist/, and its server."""
