"""The golden v1 event log and the scripted scenario that made it."""
