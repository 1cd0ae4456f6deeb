"""Background work: one module per job, each a plain function safe to run in several
processes at once (STYLE.md). `tasks-api purge` runs them."""
