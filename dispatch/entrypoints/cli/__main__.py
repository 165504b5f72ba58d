"""`python -m dispatch.entrypoints.cli`: the `everycall` command."""

from dispatch.entrypoints.cli.main import main

main()
