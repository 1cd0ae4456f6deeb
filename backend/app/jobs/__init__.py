"""Background work, one module per job, started from the app's lifespan or `tasks-api worker`."""
