"""Composition: the FastAPI app, the CLI, migrations and demo data."""
