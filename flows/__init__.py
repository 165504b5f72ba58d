"""Prefect flows: thin orchestration over dispatch/, one flow run per micro-batch."""
