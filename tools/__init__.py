"""Developer and operator tools: the one-command demo (`make run`) and the data dictionary generator."""
