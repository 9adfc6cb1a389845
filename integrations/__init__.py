"""httpx clients and webhooks for outside systems; no domain imports."""
