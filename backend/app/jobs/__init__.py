"""Background work: one module per job, each a plain function that claims its work in a short
transaction of its own and is safe to run in several processes at once (STYLE.md). The
runner (app.jobs.runner) runs them from the app's lifespan, or alone with `tasks-api worker`."""
