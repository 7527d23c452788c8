#!/usr/bin/env python3
"""Summarize bench_pg.sh RESULT lines into bench-out/results.md and results.json (stdlib only).

Per cell (workload, clients, mode): median tps and latency per target, the intermediary's CPU per
transaction, and the ratios proxy/direct, proxy/socat, proxy/pgbouncer of median tps. Checks the
performance targets, lists failed runs and exits 1 if any run failed or is missing.
"""
import argparse
import json
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

TARGETS = ["direct", "socat", "pgbouncer", "proxy"]
RATIO_BASES = ["direct", "socat", "pgbouncer"]
# other_cpu_pct (percent of one core) above this means something besides pgbench, PostgreSQL
# and the intermediary took CPU during the run: worth repeating.
DISTURBED_OTHER_PCT = 25.0


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def parse(raw):
    runs = []
    for line in Path(raw).read_text().splitlines():
        if not line.startswith("RESULT "):
            continue
        r = dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)
        failed = num(r.get("failed"))
        r["ok"] = r.get("status") == "ok" and num(r.get("tps")) is not None and not (failed and failed > 0)
        tps, cpu = num(r.get("tps")), num(r.get("proxy_cpu_pct"))
        r["cpu_us_per_xact"] = cpu / 100 * 1e6 / tps if (tps and cpu is not None) else None
        runs.append(r)
    return runs


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def cells_of(runs):
    cells = {}
    for r in runs:
        key = (r["workload"], int(r["clients"]), r["mode"])
        cells.setdefault(key, {t: [] for t in TARGETS}).setdefault(r["label"], []).append(r)
    out = []
    for (w, c, m), by_target in cells.items():
        cell = {"workload": w, "clients": c, "mode": m, "targets": {}, "ratios": {}}
        for t, rs in by_target.items():
            ok = [r for r in rs if r["ok"]]
            cell["targets"][t] = {
                "runs": len(rs),
                "ok_runs": len(ok),
                "tps": [num(r["tps"]) for r in ok],
                "lat_ms": [num(r["lat_ms"]) for r in ok],
                "tps_median": median(num(r["tps"]) for r in ok),
                "lat_ms_median": median(num(r["lat_ms"]) for r in ok),
                "cpu_us_per_xact_median": median(r["cpu_us_per_xact"] for r in ok) if t != "direct" else None,
            }
        p = cell["targets"].get("proxy", {}).get("tps_median")
        for b in RATIO_BASES:
            d = cell["targets"].get(b, {}).get("tps_median")
            cell["ratios"][f"proxy/{b}"] = p / d if (p is not None and d) else None
        out.append(cell)
    return out


def log_excerpt(path, n=5):
    """The first lines of a pgbench log that say what went wrong."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return [f"(no log at {path})"]
    bad = [x for x in lines if any(k in x for k in ("ERROR", "FATAL", "error", "aborted", "failed"))]
    return [x[:200] for x in (bad or lines[-n:])[:n]]


def wl(w):
    return "-S" if w == "S" else w


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def find(cells, w, c, m):
    return next((x for x in cells if (x["workload"], x["clients"], x["mode"]) == (w, c, m)), None)


def check_targets(cells):
    checks = []
    for name, (w, c, m), base, factor in [
        ("(a) -S, 32 clients, extended: proxy >= PgBouncer", ("S", 32, "extended"), "pgbouncer", 1.0),
        ("(b) -S, 1 client, simple: proxy >= 0.9 x socat", ("S", 1, "simple"), "socat", 0.9),
    ]:
        cell = find(cells, w, c, m)
        p = cell and cell["targets"].get("proxy", {}).get("tps_median")
        b = cell and cell["targets"].get(base, {}).get("tps_median")
        if cell is None:
            verdict, detail = "NOT MEASURED", "cell not in this matrix"
        elif p is None or b is None:
            verdict, detail = "NOT MEASURED", "no successful run for proxy or " + base
        else:
            verdict = "MET" if p >= factor * b else "MISSED"
            detail = f"proxy {p:.0f} tps vs {base} {b:.0f} tps (ratio {p / b:.3f}, needed >= {factor:g})"
        checks.append({"target": name, "verdict": verdict, "detail": detail, "proxy_tps": p, "base_tps": b})
    return checks


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render(meta, cells, checks, failed, missing, disturbed, not_measured):
    md = ["# molt-lms benchmark: pgbench through direct, socat, PgBouncer and the proxy", ""]
    md += [
        f"- date (UTC): started {meta.get('started_utc', '?')}, finished {meta['finished_utc']}",
        f"- machine: nproc {meta.get('nproc', '?')}, CPU {meta.get('cpu', '?')}",
        f"- PostgreSQL {meta.get('postgresql', '?')}; {meta.get('pgbouncer', 'PgBouncer ?')} (session mode); "
        f"socat {meta.get('socat', '?')}",
        f"- proxy: {meta.get('proxy_bin', 'target/release/molt-lms')}, tree at commit {meta.get('proxy_commit', '?')}"
        + (" — **DEBUG BUILD: proxy figures are not representative**" if "debug" in meta.get("proxy_bin", "") else ""),
        f"- command: `{meta.get('command', '?')}`",
        f"- T={meta.get('T', '?')} s per run, REPS={meta.get('REPS', '?')}, pgbench -j {meta.get('J', '?')}, "
        "scale 10; per cell the targets run interleaved (direct, socat, pgbouncer, proxy) once per rep",
        f"- driver: {meta.get('bench_pg', '?')}",
        "- figures are medians over the successful runs of each cell; ratios are of median tps",
        "",
        "## Throughput (median tps)",
        "",
    ]
    md += table(
        ["workload", "clients", "mode", *TARGETS, *(f"proxy/{b}" for b in RATIO_BASES)],
        [
            [wl(c["workload"]), str(c["clients"]), c["mode"],
             *(fmt(c["targets"].get(t, {}).get("tps_median"), ".0f") for t in TARGETS),
             *(fmt(c["ratios"][f"proxy/{b}"], ".2f") for b in RATIO_BASES)]
            for c in cells
        ],
    )
    md += ["", "## Latency (median ms) and the intermediary's CPU per transaction (median µs)", ""]
    md += table(
        ["workload", "clients", "mode", *(f"{t} ms" for t in TARGETS), *(f"{t} µs/xact" for t in TARGETS[1:])],
        [
            [wl(c["workload"]), str(c["clients"]), c["mode"],
             *(fmt(c["targets"].get(t, {}).get("lat_ms_median"), ".3f") for t in TARGETS),
             *(fmt(c["targets"].get(t, {}).get("cpu_us_per_xact_median"), ".1f") for t in TARGETS[1:])]
            for c in cells
        ],
    )
    md += ["", "## Targets", ""]
    md += [f"- {k['target']}: **{k['verdict']}** — {k['detail']}" for k in checks]
    md += ["", "## Failed runs", ""]
    if not failed and not missing:
        md.append("none")
    for r in failed:
        md.append(
            f"- {r['label']} {wl(r['workload'])} c{r['clients']} {r['mode']} rep {r['rep']}: status={r['status']} "
            f"rc={r.get('rc', '?')} failed={r.get('failed')} err={r.get('err')} — log `{r['log']}`"
        )
        md += [f"    > {line}" for line in r["excerpt"]]
    if missing:
        md.append(f"- {missing} planned run(s) produced no RESULT line")
    md += ["", f"## Disturbed runs (other_cpu_pct > {DISTURBED_OTHER_PCT:g}: foreign load, worth repeating)", ""]
    md += [
        f"- {r['label']} {wl(r['workload'])} c{r['clients']} {r['mode']} rep {r['rep']}: "
        f"other_cpu_pct={r['other_cpu_pct']}" for r in disturbed
    ] or ["none"]
    md += ["", "## Not measured yet", ""]
    md += [f"- {n['section']}: not measured yet: {n['why']}" for n in not_measured] or ["none"]
    return "\n".join(md) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", required=True, help="file of RESULT lines")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--expected-runs", type=int, default=0)
    ap.add_argument("--not-measured", help="TSV: section<TAB>why")
    ap.add_argument("--meta", action="append", default=[], help="KEY=VALUE for the header")
    a = ap.parse_args()

    meta = dict(kv.split("=", 1) for kv in a.meta)
    meta["finished_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    outdir = Path(a.outdir)
    runs = parse(a.raw)
    cells = cells_of(runs)
    checks = check_targets(cells)
    failed = [r for r in runs if not r["ok"]]
    for r in failed:
        r["log"] = str(outdir / "logs" / "runs" /
                       f"{r['ts']}_{r['label']}_{r['workload']}_c{r['clients']}_{r['mode']}_r{r['rep']}.log")
    for r in failed:
        r["excerpt"] = log_excerpt(Path(r["log"]))
    missing = max(0, a.expected_runs - len(runs))
    disturbed = [r for r in runs if (num(r.get("other_cpu_pct")) or 0) > DISTURBED_OTHER_PCT]
    not_measured = []
    if a.not_measured and Path(a.not_measured).exists():
        for line in Path(a.not_measured).read_text().splitlines():
            section, _, why = line.partition("\t")
            not_measured.append({"section": section, "why": why})

    md = render(meta, cells, checks, failed, missing, disturbed, not_measured)
    (outdir / "results.md").write_text(md)
    result = {
        "meta": meta,
        "cells": cells,
        "targets_check": checks,
        "failed_runs": [{k: r.get(k) for k in
                         ("label", "workload", "clients", "mode", "rep", "status", "rc", "failed", "err", "log", "excerpt")}
                        for r in failed],
        "missing_runs": missing,
        "disturbed_runs": [{k: r.get(k) for k in ("label", "workload", "clients", "mode", "rep", "other_cpu_pct")}
                           for r in disturbed],
        "not_measured": not_measured,
        "runs": [{k: v for k, v in r.items() if k not in ("log", "excerpt")} for r in runs],
    }
    (outdir / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(md)
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
