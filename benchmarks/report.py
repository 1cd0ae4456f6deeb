"""Turn a run's measurements into the target checks, a JSON file, a Markdown table and a chart.

`python -m benchmarks.report benchmarks/results/<file>.json` redraws the Markdown and the chart
from a saved JSON (the numbers are never edited, only re-rendered).
"""

import json
import statistics
import sys
from pathlib import Path
from typing import Any

SCENARIO_ORDER = [
    "healthz",
    "floor_sync",
    "floor_async",
    "get",
    "get_304",
    "list",
    "filtered",
    "search",
    "create",
    "create_keyed",
    "patch",
    "complete",
    "complete_recurring",
    "delete",
    "mix",
]
LABELS = {
    "healthz": "framework floor (`/healthz`)",
    "floor_sync": "one-query floor, sync (psycopg2)",
    "floor_async": "one-query floor, async (psycopg 3)",
    "get": "get one task",
    "get_304": "get one task, If-None-Match: 304",
    "list": "list, first page",
    "filtered": "list, filtered sorted page",
    "search": "keyword search",
    "create": "create",
    "create_keyed": "create with an Idempotency-Key",
    "patch": "patch",
    "complete": "complete",
    "complete_recurring": "complete a recurring task (issue 19: at most 1.5x complete's cost)",
    "delete": "delete",
    "mix": "mix 60% read / 40% write",
}
# Share of the sync one-query floor's req/s in the same run, at both connection counts.
RATIO_TARGETS = {"get": 0.5, "list": 0.35, "filtered": 0.35, "create": 0.35}
RATIO_TARGETS |= {"patch": 0.35, "complete": 0.35}
P99_AT_8_MS = 25.0  # for the scenarios with a ratio target
GROWTH_LIMIT = 1.25
RSS_LIMIT_MB = 150.0
LOW, HIGH = 8, 32  # the connection counts the targets name


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one scenario (the floors run twice): the mean, and the spread."""
    rps = [r["rps"] for r in runs]
    out = {key: statistics.fmean(r[key] for r in runs) for key in ("p50_ms", "p95_ms", "p99_ms")}
    out |= {
        "rps": statistics.fmean(rps),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "errors": sum(r["non_2xx"] + r["socket_errors"] for r in runs),
        "runs": len(runs),
        "cpu_ms": statistics.fmean(
            r.get("extra", {}).get("server_cpu_ms_per_request", 0.0) for r in runs
        ),
    }
    return out


def table(result: dict[str, Any], tasks: int) -> dict[tuple[str, int], dict[str, Any]]:
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for run in result["runs"]:
        if run["tasks"] == tasks:
            groups.setdefault((run["scenario"], run["connections"]), []).append(run)
    return {key: aggregate(runs) for key, runs in groups.items()}


def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    sizes = sorted({run["tasks"] for run in result["runs"]})
    if not sizes:
        return []
    final = table(result, sizes[-1])
    targets: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, ok: bool | None) -> None:
        targets.append({"target": name, "value": value, "limit": limit, "pass": ok})

    for conns in (LOW, HIGH):
        floor = final.get(("floor_sync", conns))
        for scenario, share in RATIO_TARGETS.items():
            row = final.get((scenario, conns))
            if floor and row:
                ratio = row["rps"] / floor["rps"]
                name = f"{scenario}: req/s vs one-query floor at {conns} conns"
                add(name, ratio, share, ratio >= share)
    for scenario in RATIO_TARGETS:
        row = final.get((scenario, LOW))
        if row:
            ok = row["p99_ms"] <= P99_AT_8_MS
            add(f"{scenario}: p99 ms at {LOW} conns", row["p99_ms"], P99_AT_8_MS, ok)
    errors = sum(r["non_2xx"] + r["socket_errors"] for r in result["runs"])
    add("errors in every run (non-2xx + socket)", errors, 0, errors == 0)
    if len(sizes) > 1:
        first = table(result, sizes[0])
        for scenario in ("list", "filtered"):
            small, big = first.get((scenario, HIGH)), final.get((scenario, HIGH))
            if small and big:
                growth = big["p50_ms"] / small["p50_ms"]
                add(
                    f"{scenario}: p50 at {sizes[-1]:,} tasks / at {sizes[0]:,} ({HIGH} conns)",
                    growth,
                    GROWTH_LIMIT,
                    growth <= GROWTH_LIMIT,
                )
    for size, mb in result["peak_rss_mb_per_worker"].items():
        add(
            f"peak RSS MB per worker (after {int(size):,} tasks)",
            mb,
            RSS_LIMIT_MB,
            mb <= RSS_LIMIT_MB,
        )
    return targets


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    sizes = sorted({run["tasks"] for run in result["runs"]})
    final = table(result, sizes[-1])
    hw = result["hardware"]
    lines = [
        f"# Benchmark {result['started_at']} ({result['profile']} profile, {result['database']})",
        "",
        f"Commit `{result['commit']}`; {result['workers']} worker(s); {hw['nproc']} CPUs "
        f"({hw['cpu']}), {hw['ram_gb']} GB RAM; Python {hw['python']}; wrk with "
        f"{hw['wrk_threads']} threads on the same machine; {result['settings']['duration']} s "
        f"per run after a {result['settings']['warmup']} s warm-up; {result['minutes']} min "
        "in all.",
        "",
        f"At {sizes[-1]:,} tasks. Ratio: req/s divided by the one-query floor's (sync psycopg2"
        " / async psycopg 3) at the same connection count. Floors are the mean of the runs "
        "before and after the scenarios (req/s range in brackets).",
        "",
    ]
    conns = sorted({c for _, c in final})
    for c in conns:
        floor_sync = final.get(("floor_sync", c))
        floor_async = final.get(("floor_async", c))
        lines += [
            f"### {c} connections",
            "",
            "| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | vs sync floor "
            "| vs async floor | server CPU ms/req |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for scenario in SCENARIO_ORDER:
            row = final.get((scenario, c))
            if row is None:
                continue
            rps = _fmt(row["rps"], 0)
            if row["runs"] > 1:
                rps += f" ({row['rps_min']:,.0f}-{row['rps_max']:,.0f})"
            ratios = [
                f"{row['rps'] / f['rps']:.0%}" if f else "" for f in (floor_sync, floor_async)
            ]
            lines.append(
                f"| {LABELS[scenario]} | {rps} | {_fmt(row['p50_ms'], 2)} | "
                f"{_fmt(row['p95_ms'], 2)} | {_fmt(row['p99_ms'], 2)} | {row['errors']} | "
                f"{ratios[0]} | {ratios[1]} | {row['cpu_ms']:.2f} |"
            )
        lines.append("")
    if len(sizes) > 1:
        lines += [
            "### Listing as the table grows",
            "",
            "The same users (100 tasks each) at every size; only the table around them grows.",
            "",
            "| scenario | conns | " + " | ".join(f"{s:,} tasks p50 / p99 ms" for s in sizes) + " |",
            "|---|---:|" + "---:|" * len(sizes),
        ]
        by_size = {s: table(result, s) for s in sizes}
        for scenario in ("list", "filtered", "search"):
            for c in conns:
                cells = []
                for s in sizes:
                    row = by_size[s].get((scenario, c))
                    cells.append(f"{row['p50_ms']:.2f} / {row['p99_ms']:.2f}" if row else "")
                if any(cells):
                    lines.append(f"| {LABELS[scenario]} | {c} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["### Targets", "", "| target | measured | limit | met |", "|---|---:|---:|---|"]
    for t in result["targets"]:
        met = {True: "yes", False: "**no**", None: ""}[t["pass"]]
        value = t["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(f"| {t['target']} | {shown} | {t['limit']:g} | {met} |")
    rss = ", ".join(
        f"{mb:.0f} MB after {int(s):,} tasks" for s, mb in result["peak_rss_mb_per_worker"].items()
    )
    lines += ["", f"Peak RSS per worker (VmHWM): {rss}.", ""]
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({run["tasks"] for run in result["runs"]})
    conns = max(run["connections"] for run in result["runs"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for scenario, colour in (
        ("list", "tab:blue"),
        ("filtered", "tab:orange"),
        ("search", "tab:green"),
    ):
        rows = [table(result, s).get((scenario, conns)) for s in sizes]
        if not all(rows):
            continue
        left.plot(sizes, [r["p50_ms"] for r in rows], "o-", color=colour, label=f"{scenario} p50")
        left.plot(sizes, [r["p99_ms"] for r in rows], "o--", color=colour, label=f"{scenario} p99")
    left.set_xscale("log")
    left.set_xlabel("tasks in the table")
    left.set_ylabel("latency (ms)")
    left.set_ylim(bottom=0)
    left.set_title(f"Listing latency vs data size ({conns} connections)")
    left.legend(fontsize=8)

    final = table(result, sizes[-1])
    names = [s for s in SCENARIO_ORDER if (s, conns) in final]
    values = [final[(s, conns)]["rps"] for s in names]
    colours = [
        "tab:gray" if s in {"healthz", "floor_sync", "floor_async"} else "tab:blue" for s in names
    ]
    right.barh(names, values, color=colours)
    right.invert_yaxis()
    right.set_xlabel("requests / second")
    right.set_title(f"Throughput at {sizes[-1]:,} tasks ({conns} connections; grey = floors)")
    for y, v in enumerate(values):
        right.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(result: dict[str, Any], stem: Path) -> list[Path]:
    result["targets"] = check_targets(result)
    paths = [stem.with_suffix(".json"), stem.with_suffix(".md"), stem.with_suffix(".png")]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(markdown(result))
    chart(result, paths[2])
    return paths


if __name__ == "__main__":
    source = Path(sys.argv[1])
    write(json.loads(source.read_text()), source.with_suffix(""))
