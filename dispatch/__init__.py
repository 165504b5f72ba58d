"""Dispatch services: routing, SLA and escalation, the database layer, the API and the CLI."""
