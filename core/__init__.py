"""Shared foundations: settings, database engine and domain errors."""
