"""Background work inside the server (and `tasks-api` commands that run it apart).

One module per job: a plain function that claims its work in a short transaction of its own
and is safe to run in several processes at once. `runner.JobRunner` runs them periodically
from the app's lifespan, or alone with `tasks-api worker`; `runner.server_jobs` lists them;
`tasks-api purge` runs the purges once.
"""
