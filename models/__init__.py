"""The everycall domain: incidents, teams, routing and SLA rules. Pure logic, no I/O."""
