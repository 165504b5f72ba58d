"""The auditor's tools: verify the hash chain, replay the log, look back in time, export."""
