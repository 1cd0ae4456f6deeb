"""Summarise a py-spy `--format raw` profile: where the API worker's samples go.

    python -m benchmarks.profile_summary benchmarks/results/profiles/get-1000000.txt

Prints the share of samples whose stack contains each interesting function (inclusive), the
self time by package, and the top functions by self time. `make bench` samples with `--gil`
(only the thread holding the GIL), so the shares are of the worker's Python CPU time, not of
time spent waiting for the database. Idle samples (the event loop waiting in epoll, thread-pool
workers waiting for work) are counted apart so the shares are of busy time.
"""

import sys
from collections import Counter
from pathlib import Path

IDLE = ("select (selectors.py", "_worker (concurrent", "wait (threading.py", "_bootstrap_inner")
BUCKETS = {
    "token verification (PyJWT)": "decode_access_token",
    "auth dependency (token, user check, rate limit)": "authorize_user (",
    "route handlers (service calls, response)": "app/routers/",
    "SQLAlchemy ORM session (begin, connection, rollback)": "sqlalchemy/orm",
    "SQLAlchemy statement execution": "_execute_context (",
    "psycopg2 execute (DB round trips)": "do_execute",
    "transaction end (rollback)": "do_rollback",
    "commit": "commit (",
    "SQLAlchemy engine/pool (incl. pre-ping)": "sqlalchemy/pool",
    "response serialization (model_dump_json)": "model_dump_json",
    "request body parsing/validation": "request_body_to_args",
    "dependency solving (FastAPI)": "solve_dependencies",
    "thread-pool hops (anyio to_thread)": "run_sync_in_worker_thread",
    "routing (matching the path)": "matches (",
    "middleware (and everything inside it on the event loop)": "app/middleware",
    "uvicorn HTTP parsing": "uvicorn/protocols",
}


def package_of(frame: str) -> str:
    """`execute (sqlalchemy/engine/base.py:1400)` -> `sqlalchemy/engine`; `threading.py` ->
    `threading` (py-spy prints paths relative to the package directories)."""
    location = frame.rpartition("(")[2].rpartition(":")[0]
    if not location:
        return frame[:60] or "(unknown)"
    parts = location.removesuffix(".py").split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def main(path: str) -> None:
    total = busy = 0
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    for line in Path(path).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf = frames[-1]
        if any(marker in leaf for marker in IDLE) or "select (selectors" in stack[-200:]:
            continue
        busy += count
        self_time[leaf] += count
        by_package[package_of(leaf)] += count
        for name, marker in BUCKETS.items():
            if marker in stack:
                inclusive[name] += count
    print(f"{path}: {total} samples, {busy} busy ({busy / max(total, 1):.0%})")
    print("\nInclusive share of busy samples:")
    for name, count in inclusive.most_common():
        print(f"  {count / busy:6.1%}  {name}")
    print("\nSelf time by package:")
    for package, count in by_package.most_common(15):
        print(f"  {count / busy:6.1%}  {package}")
    print("\nTop self time:")
    for leaf, count in self_time.most_common(25):
        print(f"  {count / busy:6.1%}  {leaf[:150]}")


if __name__ == "__main__":
    main(sys.argv[1])
