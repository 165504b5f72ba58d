"""The service layer: intake, routing, the task lifecycle, SLA clocks and the watchdog, the
registry and who may do what; each service gets what it needs as parameters."""
