"""Summarise a py-spy `--format raw` profile: where the API worker's samples go.

    python -m benchmarks.profile_summary benchmarks/results/profiles/get-1000000.txt

Prints the share of samples whose stack contains each interesting function (inclusive), and
the top functions by self time. Idle samples (the event loop waiting in epoll, thread-pool
workers waiting for work) are counted apart so the shares are of busy time.
"""

import sys
from collections import Counter
from pathlib import Path

IDLE = ("select (selectors.py", "_worker (concurrent", "wait (threading.py", "_bootstrap_inner")
BUCKETS = {
    "JWT decode": "decode_access_token",
    "user lookup (get_current_user)": "get_current_user",
    "task lookup (get_owned_task)": "get_owned_task",
    "SQLAlchemy ORM (loading, flush, identity map)": "sqlalchemy/orm",
    "SQLAlchemy engine/pool (incl. pre-ping)": "sqlalchemy/pool",
    "pre-ping": "_do_ping",
    "psycopg2 execute (DB round trips)": "do_execute",
    "commit": "commit (",
    "response validation/serialization": "serialize_response",
    "model_validate in routes": "model_validate",
    "JSON encoding (jsonable_encoder)": "jsonable_encoder",
    "request body parsing/validation": "request_body_to_args",
    "dependency solving": "solve_dependencies",
    "threadpool hops (anyio to_thread)": "run_sync_in_worker_thread",
    "middleware": "app/middleware",
    "uvicorn HTTP parsing": "uvicorn/protocols",
}


def main(path: str) -> None:
    total = busy = 0
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
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
        for name, marker in BUCKETS.items():
            if marker in stack:
                inclusive[name] += count
    print(f"{path}: {total} samples, {busy} busy ({busy / max(total, 1):.0%})")
    print("\nInclusive share of busy samples:")
    for name, count in inclusive.most_common():
        print(f"  {count / busy:6.1%}  {name}")
    print("\nTop self time:")
    for leaf, count in self_time.most_common(25):
        print(f"  {count / busy:6.1%}  {leaf[:150]}")


if __name__ == "__main__":
    main(sys.argv[1])
