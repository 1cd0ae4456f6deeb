"""Background work inside the server (and `tasks-api` commands that run it once).

One module per job: a plain function that does its work in its own short transaction and is
safe to run in several processes at once. `runner.JobRunner` runs them periodically from the
app's lifespan; `runner.server_jobs` lists what the server runs; `tasks-api purge` runs the
purges once.
"""
