"""The ways in: the HTTP API, the `everycall` command and the long-running workers. Only these
import dispatch.bootstrap, and nothing imports them."""
