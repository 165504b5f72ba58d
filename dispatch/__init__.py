"""The dispatch engine, laid out by role: service_layer (what commands do), adapters (the
database, Kafka, metrics), views (read models), audit, entrypoints (API, CLI, workers) and
simulation; bootstrap.py wires them, config.py holds the settings."""
