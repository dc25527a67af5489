"""Production set-up: PostgreSQL, an authenticated Prefect server, a process work pool and workers."""
