"""Read models: what the board, the teams and the SLA report show; reads only."""
