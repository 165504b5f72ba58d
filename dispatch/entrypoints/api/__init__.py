"""The HTTP API (FastAPI): one router per resource, its dependencies and middleware."""
