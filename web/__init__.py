"""The browser console: templates and static assets, served by the app."""
