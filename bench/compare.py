#!/usr/bin/env python3
"""bench/results/*.tsv -> the comparison table (Conductor | Slurm | pueue | ratios) and the targets table.

TSV columns (as the shared harness writes): anchor metric rep value unit note.
A cell is the median over repetitions. Ratio = Conductor / anchor: below 1 is better for times and
memory, above 1 is better for rates (jobs/s).
"""
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

RES = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results"
FILES = {"conductor": ["conductor.tsv"], "api": ["conductor_api.tsv"], "slurm": ["slurm_tuned.tsv"], "pueue": ["pueue.tsv"]}

data = {k: defaultdict(list) for k in FILES}
units = {}
for who, names in FILES.items():
    for name in names:
        p = RES / name
        if not p.exists():
            continue
        for row in csv.reader(p.open(), delimiter="\t"):
            if len(row) < 5:
                continue
            try:
                v = float(row[3])
            except ValueError:
                continue
            if v != v:  # nan
                continue
            metric = row[1]
            if metric.startswith("pass_ms_n"):  # named after the pending count at the time
                metric = "pass_ms_big"
            if metric.startswith("pass_unfit_ms_n"):
                metric = "pass_ms_wide"
            data[who][metric].append(v)
            if who != "api":
                units[metric] = row[4]


def get(who, metric):
    vals = data[who].get(metric)
    return statistics.median(vals) if vals else None


def rss_total(who, label):
    """Sum of the daemons' VmRSS (Slurm: slurmctld + slurmd) in MB."""
    pref = f"rss_{label}_"
    tot, found = 0.0, False
    for m, vals in data[who].items():
        if m.startswith(pref) and units.get(m) == "kB" and not m.endswith("_clients_sum"):
            tot += statistics.median(vals)
            found = True
    return tot / 1024 if found else None


def fmt(v, unit):
    if v is None:
        return "–"
    if abs(v) >= 100:
        s = f"{v:.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return f"{s} {unit}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.3g}x"


ROWS = [  # (label, metric or callable, unit)
    ("submit, held, per CLI call (1000 jobs)", "held_submit_n1000_per_call", "ms"),
    ("submit, held, per CLI call (10k jobs)", "held_submit_n10000_per_call", "ms"),
    ("submit while jobs run, per call", "submit_runnable_per_call", "ms"),
    ("single submit, idle system", "submit_call_idle", "ms"),
    ("drain rate (first submit -> all finished)¹", "drain_rate", "jobs/s"),
    ("submit-to-start, idle (p50 of 10)", "submit_to_start", "ms"),
    ("list, human, 1000 pending", "list_human_n1000", "ms"),
    ("list, machine, 1000 pending", "list_machine_n1000", "ms"),
    ("list, JSON, 1000 pending²", "list_json_n1000", "ms"),
    ("list, human, 10k pending", "list_human_n10000", "ms"),
    ("list, machine, 10k pending", "list_machine_n10000", "ms"),
    ("list, JSON, 10k pending²", "list_json_n10000", "ms"),
    ("cancel one by ID (1000 pending)", "cancel_one_n1000", "ms"),
    ("cancel one by ID (10k pending)", "cancel_one_n10000", "ms"),
    ("cancel all 1000 pending (command)", "cancel_all_n1000_cmd", "s"),
    ("cancel all 10k pending (command)", "cancel_all_n10000_cmd", "s"),
    ("cancel all 10k pending (until none listed)", "cancel_all_n10000_until_empty", "s"),
    ("daemon RSS, idle³", lambda w: rss_total(w, "idle"), "MB"),
    ("daemon RSS, 1000 pending³", lambda w: rss_total(w, "pending_n1000"), "MB"),
    ("daemon RSS, 10k pending³", lambda w: rss_total(w, "pending_n10000"), "MB"),
]

API_ROWS = [
    ("API submit, 16 clients (held)", "api_submit_rate", "jobs/s"),
    ("API submit latency p50 / p99 under load", ("api_submit_latency_p50", "api_submit_latency_p99"), "ms"),
    ("API drain, 2000 `true` jobs (4 clients)", "drain_api_rate", "jobs/s"),
    ("scheduling pass, ~100k pending (after a job end)", "pass_ms_big", "ms"),
    ("scheduling pass, 100k pending, a CPU free but nothing fits", "pass_ms_wide", "ms"),
    ("API submit, jobs that cannot fit, to 100k pending", "api_submit_unfit_rate_to_100000", "jobs/s"),
    ("API submit, runnable, to 1k / 10k / 100k pending", ("api_submit_runnable_rate_to_1000", "api_submit_runnable_rate_to_10000", "api_submit_runnable_rate_to_100000"), "jobs/s"),
    ("Client::list, 1k / 10k / 100k queued", ("api_list_n1000", "api_list_n10000", "api_list_n100000"), "ms"),
    ("cqueue / cqueue --json, 1k queued", ("cqueue_n1000", "cqueue_json_n1000"), "ms"),
    ("cqueue / cqueue --json, 10k queued", ("cqueue_n10000", "cqueue_json_n10000"), "ms"),
    ("cqueue / cqueue --json, 100k queued", ("cqueue_n100000", "cqueue_json_n100000"), "ms"),
    ("daemon RSS idle / 1k / 10k / 100k queued", ("rss_idle", "rss_pending_n1000", "rss_pending_n10000", "rss_pending_n100000"), "MB"),
    ("cancel all 10k pending (`ccancel -u`, until empty)", "cancel_all_n10000_until_empty", "s"),
    ("floor: spawn `true` from Rust", "spawn_true_rate", "jobs/s"),
    ("floor: trivial Rust binary start p50 / p99", ("start_trivial_rust_p50", "start_trivial_rust_p99"), "ms"),
    ("`cbatch --version` p50 / p99", ("start_cbatch_version_p50", "start_cbatch_version_p99"), "ms"),
    ("`cbatch` held submit p50 / p99", ("cbatch_submit_held_p50", "cbatch_submit_held_p99"), "ms"),
]

api = {m: statistics.median(v) for m, v in data["api"].items()}
cli = {m: statistics.median(v) for m, v in data["conductor"].items()}

print("| metric | Conductor | Slurm 22.05 tuned | pueue | Conductor/Slurm | Conductor/pueue |")
print("|---|---|---|---|---|---|")
for label, metric, unit in ROWS:
    vals = [metric(w) if callable(metric) else get(w, metric) for w in ("conductor", "slurm", "pueue")]
    if all(v is None for v in vals):
        continue
    print(f"| {label} | {fmt(vals[0], unit)} | {fmt(vals[1], unit)} | {fmt(vals[2], unit)} | "
          f"{ratio(vals[0], vals[1])} | {ratio(vals[0], vals[2])} |")

print()
print("| Conductor only (api_bench) | value |")
print("|---|---|")
for label, metric, unit in API_ROWS:
    ms = metric if isinstance(metric, tuple) else (metric,)
    vals = [api.get(m) for m in ms]
    if all(v is None for v in vals):
        continue
    print(f"| {label} | {' / '.join(fmt(v, '') .strip() for v in vals)} {unit} |")

# The targets
def first(*ms):
    for m in ms:
        if m in api:
            return api[m]
        if m in cli:
            return cli[m]
    return None

TARGETS = [
    ("CLI submit median (held, harness, 1000 jobs)", first("held_submit_n1000_per_call"), "<=", 2.0, "ms"),
    ("CLI submit p50 / trivial Rust binary p50", first("cbatch_submit_over_trivial"), "<=", 1.5, "x"),
    ("drain, CLI submit loop (harness)", first("drain_rate"), ">=", 600, "jobs/s"),
    ("drain, API submits (api_bench)", first("drain_api_rate"), ">=", 600, "jobs/s"),
    ("submit-to-start p50", first("submit_to_start"), "<=", 5.0, "ms"),
    ("cqueue at 1k (api_bench; harness: list_human)", first("cqueue_n1000"), "<=", 5.0, "ms"),
    ("cqueue at 10k (api_bench)", first("cqueue_n10000"), "<=", 30.0, "ms"),
    ("cqueue at 100k", first("cqueue_n100000"), "<=", 150.0, "ms"),
    ("cancel one (1000 pending)", first("cancel_one_n1000"), "<=", 2.0, "ms"),
    ("cancel one (10k pending)", first("cancel_one_n10000"), "<=", 2.0, "ms"),
    ("scheduling pass at 100k pending (stops early)", first("pass_ms_big"), "<=", 5.0, "ms"),
    ("scheduling pass at 100k pending (nothing fits)", first("pass_ms_wide"), "<=", 5.0, "ms"),
    ("RSS at 100k queued", first("rss_pending_n100000"), "<=", 100.0, "MB"),
    ("API submit (16 clients)", first("api_submit_rate"), ">=", 10000, "jobs/s"),
]
print()
print("| target | Conductor | target | met? |")
print("|---|---|---|---|")
for label, v, op, t, unit in TARGETS:
    met = "–" if v is None else ("yes" if (v <= t if op == "<=" else v >= t) else "**no**")
    print(f"| {label} | {fmt(v, unit)} | {op} {t:g} {unit} | {met} |")
