"""Users, roles and bearer-token authentication."""
