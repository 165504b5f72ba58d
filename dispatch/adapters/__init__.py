"""Adapters: the database, Kafka, storm search, metrics."""
