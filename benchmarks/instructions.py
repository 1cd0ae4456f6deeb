"""Instructions per request, counted by valgrind: a number that does not drift with the machine.

    python -m benchmarks.instructions                   # get, list, create, patch, complete
    python -m benchmarks.instructions --only get --jobs 1

CPU time per request (`benchmarks.inprocess`) moves by up to 2x within minutes on a shared VM,
which hides a change worth 5%. Callgrind counts the instructions the process executes
instead: the same code and inputs give the same count, whatever else the machine is doing.
Each scenario runs `benchmarks.inprocess` under `valgrind --tool=callgrind` twice, with two
request counts; the difference of the totals divided by the difference of the requests is
the cost of one request, with start-up, seeding and imports cancelled out.

What it does not count: the kernel (system calls, thread wake-ups on a thread-pool hop) and
PostgreSQL's own work. Compare commits as with `benchmarks.inprocess` (PYTHONPATH first).
Each run takes about two minutes; `--jobs` runs that many at once (one per core).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.inprocess import SCENARIOS, WARM_UP

COLLECTED = re.compile(r"Collected : (\d+)")


def total_requests(requests: int) -> int:
    """What one `benchmarks.inprocess --rounds 1` run sends: warm-up, then the round."""
    return min(WARM_UP, requests) + requests


def count(scenario: str, requests: int, workdir: Path) -> int:
    """Instructions executed by a whole in-process run of `requests` requests."""
    out = workdir / f"callgrind.{scenario}.{requests}"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "benchmarks.inprocess",
        "--only",
        scenario,
        "--requests",
        str(requests),
        "--rounds",
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{scenario} x{requests} failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--small", type=int, default=100, help="requests in the shorter run")
    parser.add_argument("--large", type=int, default=400, help="requests in the longer run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    scenarios = args.only.split(",") if args.only else [s for s in SCENARIOS if s != "healthz"]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.large <= args.small:
        parser.error("--large must be more than --small")

    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        runs = {
            (scenario, n): pool.submit(count, scenario, n, Path(tmp))
            for scenario in scenarios
            for n in (args.small, args.large)
        }
        extra = total_requests(args.large) - total_requests(args.small)
        print(f"{'scenario':10} {'instructions/req':>16}")
        for scenario in scenarios:
            small = runs[scenario, args.small].result()
            large = runs[scenario, args.large].result()
            per_request = (large - small) / extra
            print(f"{scenario:10} {per_request / 1e6:14.2f} M", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
