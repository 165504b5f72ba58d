"""Events: the versioned envelope, the schemas, topic names, the Kafka adapter and the event log."""
