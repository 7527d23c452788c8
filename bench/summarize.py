#!/usr/bin/env python3
"""Summarize bench_pg.sh RESULT lines into bench-out/results.md and results.json (stdlib only).

Per cell (workload, clients, mode): median tps and latency per target, the intermediary's CPU per
transaction, and the ratios proxy/direct, proxy/socat, proxy/pgbouncer of median tps. Checks the
performance targets, lists failed runs and exits 1 if any run failed or is missing.

With --sections-dir, also renders the sections after the matrix (shadow, tracing, mysql, cutover,
idle, scale) from the files those sections wrote there (see bench/shadow.sh, tracing.sh, ...), and
exits 1 if one failed.
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
# The counts of a matrix cell's SYSCALLS_T run (bench_pg.sh): all system calls, epoll waits,
# recvfrom + sendto.
SYSCALL_KEYS = ["syscalls", "waits", "io_calls"]


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
        for part in ("user", "sys"):
            pct = num(r.get(f"proxy_{part}_pct"))
            r[f"{part}_us_per_xact"] = pct / 100 * 1e6 / tps if (tps and pct is not None) else None
        wakeups, xacts = num(r.get("proxy_wakeups")), num(r.get("xacts"))
        r["wakeups_per_xact"] = wakeups / xacts if (wakeups is not None and xacts) else None
        # System calls come from the cell's separate counted run (SYSCALLS_T), with its own count
        # of transactions.
        counted = num(r.get("counted_xacts"))
        for key in SYSCALL_KEYS:
            n = num(r.get(f"proxy_{key}"))
            r[f"{key}_per_xact"] = n / counted if (n is not None and counted) else None
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
                "user_us_per_xact_median": median(r["user_us_per_xact"] for r in ok) if t != "direct" else None,
                "sys_us_per_xact_median": median(r["sys_us_per_xact"] for r in ok) if t != "direct" else None,
                "wakeups_per_xact_median": median(r["wakeups_per_xact"] for r in ok) if t != "direct" else None,
                **{f"{k}_per_xact_median": median(r[f"{k}_per_xact"] for r in ok) for k in SYSCALL_KEYS},
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


def stat(cell, target, key):
    """One target's figure in a cell (None where it was not measured)."""
    return cell["targets"].get(target, {}).get(key)


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
    return checks + cost_checks(cells)


def cell_name(c):
    return f"{wl(c['workload'])} c{c['clients']} {c['mode']}"


def cost_checks(cells):
    """The targets of "Cheaper than PgBouncer per transaction": every cell at 8 clients and
    more at least PgBouncer's tps and at most its CPU per transaction; 1 client at least
    0.95 x socat. Each verdict names the worst cell."""
    def tps(c, t):
        return c["targets"].get(t, {}).get("tps_median")

    def cpu(c, t):
        return c["targets"].get(t, {}).get("cpu_us_per_xact_median")

    def tps_ratio(base):
        return lambda c: ratio(tps(c, "proxy"), tps(c, base))

    def cpu_ratio(c):  # PgBouncer's CPU over the proxy's: >= 1 means the proxy is cheaper
        return ratio(cpu(c, "pgbouncer"), cpu(c, "proxy"))

    out = []
    for name, pick, value, need, what in [
        ("(c) every cell with 8 clients or more: proxy >= PgBouncer tps", lambda c: c["clients"] >= 8,
         tps_ratio("pgbouncer"), 1.0, "proxy/pgbouncer tps"),
        ("(d) every cell with 8 clients or more: proxy CPU per transaction <= PgBouncer's",
         lambda c: c["clients"] >= 8, cpu_ratio, 1.0, "pgbouncer/proxy CPU per transaction"),
        ("(e) every 1-client cell: proxy >= 0.95 x socat", lambda c: c["clients"] == 1,
         tps_ratio("socat"), 0.95, "proxy/socat tps"),
    ]:
        scored = [(v, c) for v, c in ((value(c), c) for c in cells if pick(c)) if v is not None]
        if not scored:
            out.append({"target": name, "verdict": "NOT MEASURED", "detail": "no such cell measured"})
            continue
        v, c = min(scored, key=lambda x: x[0])
        met = sum(1 for x, _ in scored if x >= need)
        out.append({"target": name, "verdict": "MET" if v >= need else "MISSED",
                    "detail": f"{met} of {len(scored)} cells; worst {cell_name(c)}: {what} {v:.3f} (needed >= {need:g})"})
    return out


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render(meta, cells, checks, failed, missing, disturbed, not_measured, sections=None):
    sections = sections or {}
    md = ["# molt-lms benchmark: pgbench through direct, socat, PgBouncer and the proxy", ""]
    md += [
        f"- date (UTC): started {meta.get('started_utc', '?')}, finished {meta['finished_utc']}",
        f"- machine: nproc {meta.get('nproc', '?')}, CPU {meta.get('cpu', '?')}",
        f"- PostgreSQL {meta.get('postgresql', '?')}; {meta.get('pgbouncer', 'PgBouncer ?')} (session mode); "
        f"socat {meta.get('socat', '?')}",
        f"- proxy: {meta.get('proxy_bin', 'target/release/molt-lms')}, tree at commit {meta.get('proxy_commit', '?')}"
        + (" — **DEBUG BUILD: proxy figures are not representative**" if "debug" in meta.get("proxy_bin", "") else ""),
        f"- scheduling: every server in a session of its own (kernel autogroup: {meta.get('autogroup', '?')})",
        f"- command: `{meta.get('command', '?')}`",
        f"- T={meta.get('T', '?')} s per run, REPS={meta.get('REPS', '?')}, pgbench -j {meta.get('J', '?')}, "
        "scale 10; per cell the targets run interleaved (direct, socat, pgbouncer, proxy) once per rep",
        f"- driver: {meta.get('bench_pg', '?')}",
        "- figures are medians over the successful runs of each cell; ratios are of median tps",
    ]
    if sections:
        md += ["- sections: " + ", ".join(f"{n} **{v['status']}**" for n, v in sections.items())]
    md += ["", "## Throughput (median tps)", ""]
    if sections.get("matrix", {}).get("status") == "skipped":
        md += ["matrix skipped (not in SECTIONS)", ""]
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
    md += ["", "## CPU per transaction, user and kernel, and wake-ups: PgBouncer and the proxy (medians)", ""]
    md += ["Wake-ups are the intermediary's voluntary context switches per transaction (all threads).", ""]

    def t(c, target, key, spec):
        return fmt(stat(c, target, key), spec)

    md += table(
        ["workload", "clients", "mode", "proxy/pgbouncer tps", "pgbouncer user µs", "pgbouncer kernel µs",
         "proxy user µs", "proxy kernel µs", "proxy/pgbouncer CPU", "pgbouncer wake-ups", "proxy wake-ups"],
        [
            [wl(c["workload"]), str(c["clients"]), c["mode"], fmt(c["ratios"]["proxy/pgbouncer"], ".2f"),
             t(c, "pgbouncer", "user_us_per_xact_median", ".1f"), t(c, "pgbouncer", "sys_us_per_xact_median", ".1f"),
             t(c, "proxy", "user_us_per_xact_median", ".1f"), t(c, "proxy", "sys_us_per_xact_median", ".1f"),
             fmt(ratio(c["targets"].get("proxy", {}).get("cpu_us_per_xact_median"),
                       c["targets"].get("pgbouncer", {}).get("cpu_us_per_xact_median")), ".2f"),
             t(c, "pgbouncer", "wakeups_per_xact_median", ".2f"), t(c, "proxy", "wakeups_per_xact_median", ".2f")]
            for c in cells
        ],
    )
    md += render_syscalls(cells)
    if any("proxy_b" in c["targets"] for c in cells):
        md += render_ab(meta, cells)
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
    for name, render_section in (("shadow", render_shadow), ("tracing", render_tracing), ("mysql", render_mysql),
                                 ("cutover", render_cutover), ("idle", render_idle), ("scale", render_scale)):
        if name in sections:
            md += [""] + render_section(sections[name])
    md += ["", "## Not measured yet", ""]
    md += [f"- {n['section']}: not measured yet: {n['why']}" for n in not_measured] or ["none"]
    md = [x for i, x in enumerate(md) if x or i == 0 or md[i - 1]]  # no doubled blank lines
    return "\n".join(md) + "\n"


# ---------------------------------------------------------------------------------------------
# Sections after the matrix
# ---------------------------------------------------------------------------------------------
SHADOW_TARGETS = ["direct", "none", "async", "sync", "strict-sync"]
SHADOW_TITLE = "## Shadow modes: pgbench direct and through proxies with --shadow-mode none, async, sync, strict-sync"
CUTOVER_TITLE = "## Cutover under load: pgbench through 3 proxies, consistent cutover begin -> commit"
IDLE_TITLE = "## Idle connections: proxy memory and CPU, pgbench beside them, cutover pause with them held"


def section_head(title, sec):
    md = [title, ""]
    if sec["status"] == "failed":
        md += ["**FAILED**: " + "; ".join(sec["errors"] or ["(no reason recorded)"]), ""]
    elif sec["status"] != "ok":
        md += [f"{sec['status']} (not in SECTIONS)" if sec["status"] == "skipped" else sec["status"]]
    return md


def parse_kv_lines(path, tag):
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith(tag + " "):
                out.append(dict(t.split("=", 1) for t in line.split()[1:] if "=" in t))
    return out


def load_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def failed_run_lines(runs, outdir):
    md = []
    for r in runs:
        if r["ok"]:
            continue
        log = outdir / "logs" / "runs" / f"{r['ts']}_{r['label']}_{r['workload']}_c{r['clients']}_{r['mode']}_r{r['rep']}.log"
        md.append(f"- {r['label']} {wl(r['workload'])} c{r['clients']} {r['mode']} rep {r['rep']}: status={r['status']} "
                  f"rc={r.get('rc', '?')} failed={r.get('failed')} err={r.get('err')} — log `{log}`")
        md += [f"    > {x}" for x in log_excerpt(log)]
    return md


def section_cells(runs, prefix):
    """Per cell of a pgbench section, per target (the label without PREFIX): medians of the ok runs."""
    cells = {}
    for r in runs:
        key = (r["workload"], int(r["clients"]), r["mode"])
        t = "direct" if r["label"] == "direct" else r["label"].removeprefix(prefix)
        cells.setdefault(key, {}).setdefault(t, []).append(r)
    out = []
    for (w, c, m), by in cells.items():
        cell = {"workload": w, "clients": c, "mode": m, "targets": {}}
        for t, rs in by.items():
            ok = [r for r in rs if r["ok"]]
            cell["targets"][t] = {
                "runs": len(rs), "ok_runs": len(ok), "tps": [num(r["tps"]) for r in ok],
                "tps_median": median(num(r["tps"]) for r in ok),
                "lat_ms_median": median(num(r["lat_ms"]) for r in ok),
                "cpu_us_per_xact_median": median(r["cpu_us_per_xact"] for r in ok) if t != "direct" else None,
            }
        out.append(cell)
    return out


def load_shadow(d, outdir):
    runs = parse(d / "shadow.raw") if (d / "shadow.raw").exists() else []
    out = section_cells(runs, "shadow-")
    for cell in out:
        tps = {t: cell["targets"].get(t, {}).get("tps_median") for t in SHADOW_TARGETS}
        cell["ratios"] = {f"{t}/{b}": (tps[t] / tps[b] if tps[t] is not None and tps[b] else None)
                          for t in SHADOW_TARGETS[1:] for b in ("direct", "none") if t != b}
    reports = {}
    for mode in SHADOW_TARGETS[1:]:
        rep_ = load_json(d / f"shadow-report-{mode}.json")
        if rep_ is not None:
            reports[mode] = {
                "totals": rep_.get("totals", {}),
                "fingerprints": [{k: f.get(k) for k in ("fingerprint", "verdict", "counts")}
                                 for f in rep_.get("fingerprints", [])[:8]],
            }
    cell = next((x for x in out if (x["workload"], x["clients"], x["mode"]) == ("S", 8, "extended")), None)
    sync, none = (cell["targets"].get(t, {}).get("tps_median") if cell else None for t in ("sync", "none"))
    if cell is None or sync is None or none is None:
        check = {"verdict": "NOT MEASURED", "detail": "no successful -S c8 extended run for sync or none"}
    else:
        check = {"verdict": "MET" if sync >= 0.45 * none else "MISSED",
                 "detail": f"sync {sync:.0f} tps vs none {none:.0f} tps (ratio {sync / none:.3f}, needed >= 0.45)"}
    check["target"] = "sync >= 0.45 x none (-S, 8 clients, extended)"
    return {"cells": out, "reports": reports, "check": check,
            "failed_runs": [{k: r.get(k) for k in ("label", "workload", "clients", "mode", "rep", "status", "err")}
                            for r in runs if not r["ok"]],
            "runs": runs, "_outdir": outdir}


def render_syscalls(cells):
    """The system calls per transaction of PgBouncer and the proxy, from each cell's counted run."""
    counted = [c for c in cells if stat(c, "proxy", "syscalls_per_xact_median") is not None
               or stat(c, "pgbouncer", "syscalls_per_xact_median") is not None]
    if not counted:
        return []
    md = ["", "## System calls per transaction: PgBouncer and the proxy (counted runs)", ""]
    md += ["Counted by `perf stat` on the kernel's syscall tracepoints, in a separate SYSCALLS_T run per "
           "cell (repetition 1), since a counted call is slower: counts, which the machine's load does not "
           "move. Waits are epoll_wait calls; socket I/O is recvfrom + sendto.", ""]

    def t(c, target, key):
        return fmt(stat(c, target, key), ".2f")

    md += table(
        ["workload", "clients", "mode", "pgbouncer calls", "proxy calls", "proxy/pgbouncer calls",
         "pgbouncer waits", "proxy waits", "pgbouncer socket I/O", "proxy socket I/O"],
        [
            [wl(c["workload"]), str(c["clients"]), c["mode"],
             t(c, "pgbouncer", "syscalls_per_xact_median"), t(c, "proxy", "syscalls_per_xact_median"),
             fmt(ratio(stat(c, "proxy", "syscalls_per_xact_median"),
                       stat(c, "pgbouncer", "syscalls_per_xact_median")), ".2f"),
             t(c, "pgbouncer", "waits_per_xact_median"), t(c, "proxy", "waits_per_xact_median"),
             t(c, "pgbouncer", "io_calls_per_xact_median"), t(c, "proxy", "io_calls_per_xact_median")]
            for c in counted
        ],
    )
    return md


def render_ab(meta, cells):
    """PROXY_B_BIN: the two builds side by side, each against PgBouncer in the same cell."""
    md = ["", "## A/B: proxy (A) and proxy_b (B), interleaved in every cell (medians)", ""]
    md += [f"- A: {meta.get('proxy_bin', '?')}", f"- B: {meta.get('proxy_b_bin', '?')}", ""]

    rows = []
    for c in cells:
        a_cpu, b_cpu = stat(c, "proxy", "cpu_us_per_xact_median"), stat(c, "proxy_b", "cpu_us_per_xact_median")
        bouncer_tps, bouncer_cpu = stat(c, "pgbouncer", "tps_median"), stat(c, "pgbouncer", "cpu_us_per_xact_median")
        rows.append([
            wl(c["workload"]), str(c["clients"]), c["mode"],
            fmt(ratio(stat(c, "proxy", "tps_median"), bouncer_tps), ".2f"),
            fmt(ratio(stat(c, "proxy_b", "tps_median"), bouncer_tps), ".2f"),
            fmt(ratio(stat(c, "proxy_b", "tps_median"), stat(c, "proxy", "tps_median")), ".3f"),
            fmt(a_cpu, ".1f"), fmt(b_cpu, ".1f"), fmt(ratio(b_cpu, a_cpu), ".3f"),
            fmt(stat(c, "proxy", "user_us_per_xact_median"), ".1f"), fmt(stat(c, "proxy_b", "user_us_per_xact_median"), ".1f"),
            fmt(ratio(a_cpu, bouncer_cpu), ".2f"), fmt(ratio(b_cpu, bouncer_cpu), ".2f"),
            fmt(stat(c, "proxy", "wakeups_per_xact_median"), ".2f"), fmt(stat(c, "proxy_b", "wakeups_per_xact_median"), ".2f"),
            fmt(stat(c, "proxy", "syscalls_per_xact_median"), ".2f"), fmt(stat(c, "proxy_b", "syscalls_per_xact_median"), ".2f"),
        ])
    md += table(
        ["workload", "clients", "mode", "A/pgbouncer tps", "B/pgbouncer tps", "B/A tps", "A µs/xact", "B µs/xact",
         "B/A CPU", "A user µs", "B user µs", "A/pgbouncer CPU", "B/pgbouncer CPU", "A wake-ups", "B wake-ups",
         "A syscalls", "B syscalls"],
        rows,
    )
    return md


def render_shadow(sec):
    md = section_head(SHADOW_TITLE, sec)
    data = sec.get("data") or {}
    cells = data.get("cells", [])
    if not cells and sec["status"] != "ok":
        return md
    md += ["Source of truth: the bench cluster; shadow: a second cluster (pgbench -i -s 10, the same SCRAM "
           "verifier for role postgres). Per rep, each cell runs direct, none, async, sync, strict-sync in turn. "
           "Median tps:", ""]
    md += table(["workload", "clients", "mode", *SHADOW_TARGETS,
                 *(f"{t}/direct" for t in SHADOW_TARGETS[1:]), *(f"{t}/none" for t in SHADOW_TARGETS[2:])],
                [[wl(c["workload"]), str(c["clients"]), c["mode"],
                  *(fmt(c["targets"].get(t, {}).get("tps_median"), ".0f") for t in SHADOW_TARGETS),
                  *(fmt(c["ratios"].get(f"{t}/direct"), ".2f") for t in SHADOW_TARGETS[1:]),
                  *(fmt(c["ratios"].get(f"{t}/none"), ".2f") for t in SHADOW_TARGETS[2:])] for c in cells])
    md += ["", "Median latency (ms) and the proxy's CPU per transaction (µs; the shadow cluster's CPU is not in it):", ""]
    md += table(["workload", "clients", "mode", *(f"{t} ms" for t in SHADOW_TARGETS),
                 *(f"{t} µs/xact" for t in SHADOW_TARGETS[1:])],
                [[wl(c["workload"]), str(c["clients"]), c["mode"],
                  *(fmt(c["targets"].get(t, {}).get("lat_ms_median"), ".3f") for t in SHADOW_TARGETS),
                  *(fmt(c["targets"].get(t, {}).get("cpu_us_per_xact_median"), ".1f") for t in SHADOW_TARGETS[1:])]
                 for c in cells])
    k = data.get("check")
    if k:
        md += ["", f"- {k['target']}: **{k['verdict']}** — {k['detail']}"]
    reps = data.get("reports", {})
    if reps:
        keys = ["matched", "benign", "mismatched", "shadow_errors", "unchecked", "dropped"]
        md += ["", "Shadow report totals per proxy (`GET /api/v1/shadow` after all runs, every cell together):", ""]
        md += table(["mode", *keys], [[m, *(str(r["totals"].get(x, 0)) for x in keys)] for m, r in reps.items()])
        rows = []
        for m, r in reps.items():
            for f in r["fingerprints"]:
                if m == "none":
                    continue
                cnt = f.get("counts") or {}
                rows.append([m, "`" + (f.get("fingerprint") or "")[:70].replace("|", "\\|") + "`", f.get("verdict") or "",
                             *(str(cnt.get(x, 0)) for x in keys)])
        if rows:
            md += ["", "Statement fingerprints (worst first, up to 8 per proxy):", ""]
            md += table(["mode", "fingerprint", "verdict", *keys], rows)
        md += ["", "With tpcb, the two clusters' balances have drifted apart (the matrix and earlier runs wrote to "
               "the source only), so `UPDATE ... RETURNING`/`SELECT abalance` answers differ: those mismatches "
               "are expected; the numbers are reported as they are."]
    bad = failed_run_lines(data.get("runs", []), data.get("_outdir", Path(".")))
    if bad:
        md += ["", "Failed runs:", ""] + bad
    return md


TRACING_TARGETS = ["direct", "off", "default", "all"]
TRACING_TITLE = ("## Query tracing: pgbench direct and through proxies with tracing off, at the default ratio "
                 "(0.01) and at 1")


def load_tracing(d, outdir):
    runs = parse(d / "tracing.raw") if (d / "tracing.raw").exists() else []
    cells = section_cells(runs, "tracing-")
    for cell in cells:
        tps = {t: cell["targets"].get(t, {}).get("tps_median") for t in TRACING_TARGETS}
        cell["ratios"] = {f"{t}/{b}": (tps[t] / tps[b] if tps[t] is not None and tps[b] else None)
                          for t, b in (("off", "direct"), ("default", "off"), ("all", "off"))}
    sinks = parse_kv_lines(d / "tracing.txt", "TRACING")
    for x in sinks:
        # The transactions the proxy relayed in this section, those of failed runs too (they were traced as well).
        xacts = sum(num(r.get("xacts")) or 0 for r in runs if r["label"] == f"tracing-{x.get('proxy')}")
        b, spans, reqs = num(x.get("bytes")), num(x.get("spans")), num(x.get("client_requests"))
        x["xacts"] = int(xacts)
        x["spans_per_request"] = spans / reqs if spans is not None and reqs else None
        x["bytes_per_span"] = b / spans if b is not None and spans else None
        x["bytes_per_xact"] = b / xacts if b is not None and xacts else None
    return {"cells": cells, "sinks": sinks, "runs": runs, "_outdir": outdir}


def render_tracing(sec):
    md = section_head(TRACING_TITLE, sec)
    data = sec.get("data") or {}
    cells = data.get("cells", [])
    if not cells and sec["status"] != "ok":
        return md
    md += ["Three proxies that differ only in query tracing, source = target = the bench cluster: off (no OTLP "
           "endpoint), default (LMS_TRACE_QUERIES=0.01) and all (LMS_TRACE_QUERIES=1), each of the last two "
           "exporting over OTLP/HTTP to a sink of its own on this machine (bench/otlp_sink.py: reads, counts and "
           "discards; batching at the SDK's defaults). Per rep, each cell runs direct, off, default, all in turn. "
           "Median tps:", ""]
    md += table(["workload", "clients", "mode", *TRACING_TARGETS, "off/direct", "default/off", "all/off"],
                [[wl(c["workload"]), str(c["clients"]), c["mode"],
                  *(fmt(c["targets"].get(t, {}).get("tps_median"), ".0f") for t in TRACING_TARGETS),
                  *(fmt(c["ratios"].get(k), ".2f") for k in ("off/direct", "default/off", "all/off"))] for c in cells])
    md += ["", "Median latency (ms) and the proxy's CPU per transaction (µs; the sink's CPU is not in it):", ""]
    md += table(["workload", "clients", "mode", *(f"{t} ms" for t in TRACING_TARGETS),
                 *(f"{t} µs/xact" for t in TRACING_TARGETS[1:])],
                [[wl(c["workload"]), str(c["clients"]), c["mode"],
                  *(fmt(c["targets"].get(t, {}).get("lat_ms_median"), ".3f") for t in TRACING_TARGETS),
                  *(fmt(c["targets"].get(t, {}).get("cpu_us_per_xact_median"), ".1f") for t in TRACING_TARGETS[1:])]
                 for c in cells])
    sinks = data.get("sinks", [])
    if sinks:
        md += ["", "What each traced proxy exported, all cells and reps together, as its sink counted it (the last "
                   "batch, sent as the proxy stops, included); client requests are the proxy's `lms_queries_total` "
                   "(a simple query, or an extended-protocol batch up to its Sync):", ""]
        md += table(["proxy", "LMS_TRACE_QUERIES", "client requests", "spans", "spans / request", "exports (POSTs)",
                     "bytes", "bytes / span", "transactions", "bytes / transaction", "sink CPU s"],
                    [[x.get("proxy", "?"), x.get("ratio", "?"), x.get("client_requests", "—"), x.get("spans", "—"),
                      fmt(x.get("spans_per_request"), ".4f"), x.get("exports", "—"), x.get("bytes", "—"),
                      fmt(x.get("bytes_per_span"), ".0f"), str(x.get("xacts", "—")), fmt(x.get("bytes_per_xact"), ".1f"),
                      x.get("cpu_s", "—")] for x in sinks])
        odd = [f"{x.get('proxy')}: {x.get('other_requests')} requests not to /v1/traces, {x.get('undecoded')} "
               "undecoded exports" for x in sinks if x.get("other_requests") != "0" or x.get("undecoded") != "0"]
        md += ["", "- " + "; ".join(odd)] if odd else []
    bad = failed_run_lines(data.get("runs", []), data.get("_outdir", Path(".")))
    if bad:
        md += ["", "Failed runs:", ""] + bad
    return md


def render_cutover(sec):
    md = section_head(CUTOVER_TITLE, sec)
    r = sec.get("data")
    if not r:
        return md
    d = r.get("drive") or {}
    per = d.get("per_proxy_pause_ms") or {}
    md += [f"pgbench TPC-B-like, simple protocol, {r.get('clients')} clients in {len(r.get('pgbench', []))} pgbench "
           "processes (one per proxy), shadow mode none; begin, then commit as soon as the orchestrator reports "
           "TrafficPaused (no replication to wait for: both clusters hold the same pgbench data). Times are wall "
           "clock as the driver (REST API) saw them.", ""]
    md += table(["measure", "value"], [
        ["begin request → attempt TrafficPaused (seen by polling)", fmt(d.get("begin_to_paused_ms"), ".1f") + " ms"],
        ["orchestrator: trigger → traffic paused", fmt(d.get("orch_trigger_to_paused_ms"), ".1f") + " ms"],
        ["per proxy: trigger → pause-ack", ", ".join(f"{v} ms" for v in per.values()) or "—"],
        ["cutover check (before begin; not part of the pause)", fmt(d.get("check_ms"), ".1f") + " ms"],
        ["commit request → CommitCompleted (answer; includes the preparation)", fmt(d.get("finish_ms"), ".1f") + " ms"],
        ["per proxy: preparation (commit, phase one)",
         ", ".join(f"{v} ms" for v in (d.get("per_proxy_prepare_ms") or {}).values()) or "— (no preparation phase)"],
        ["begin request → commit answered (attempt open; sessions resume one by one during commit)", fmt(d.get("begin_to_finished_ms"), ".1f") + " ms"],
        ["longest time with no transaction completing", fmt(r.get("longest_gap_ms"), ".1f") + " ms"],
        ["max transaction latency, transactions overlapping begin..commit",
         fmt(r.get("max_latency_in_window_ms"), ".1f") + f" ms ({r.get('tx_in_window', '—')} transactions)"],
        ["max / p99 transaction latency before begin",
         fmt(r.get("max_latency_before_ms"), ".1f") + " / " + fmt(r.get("p99_latency_before_ms"), ".1f") + " ms"],
        ["tps before begin / after commit", fmt(r.get("tps_before"), ".0f") + " / " + fmt(r.get("tps_after"), ".0f")],
        ["transactions processed (pgbench) / tps over the run", f"{r.get('processed')} / {fmt(r.get('tps_total'), '.0f')}"],
        ["pgbench_history rows: source + target = total",
         f"{r.get('history_rows_source')} + {r.get('history_rows_target')} = {r.get('history_rows_total')}"],
        ["pgbench errors (failed transactions + aborted clients)", str(r.get("errors"))],
    ])
    v = "MET" if r.get("errors") == 0 and not r.get("drive_error") else "MISSED"
    md += ["", f"- no client error across the cutover: **{v}** — {r.get('errors')} error(s)"
           + (f"; driver: {r['drive_error']}" if r.get("drive_error") else "")]
    if r.get("history_rows_total") is not None and r.get("processed") is not None:
        same = r["history_rows_total"] == r["processed"]
        md += [f"- every committed transaction's history row is in exactly one database: "
               f"**{'yes' if same else 'NO'}** ({r['history_rows_total']} rows, {r['processed']} transactions)"]
    for p in r.get("pgbench", []):
        if p.get("errors"):
            md += [f"    > {p['file']}: {e}" for e in p["errors"]]
    return md


SCALE_TITLE = "## Control plane at scale: idle proxies on one orchestrator, begin -> all paused, commit -> all switched"


def render_scale(sec):
    md = section_head(SCALE_TITLE, sec)
    r = sec.get("data")
    if not r:
        return md
    rounds = r.get("rounds", [])
    md += [f"{r.get('proxies')} proxy processes (one worker each, idle) registered with one orchestrator on this "
           "machine. Each round: begin (check skipped) until the attempt is TrafficPaused, then commit until "
           "CommitCompleted (both phases: every proxy prepares, then switches). Rounds alternate source and "
           "target. Wall clock as the driver (REST API) saw it.", ""]
    rows = [[str(i + 1), fmt(x.get("begin_to_paused_ms"), ".1f"), fmt(x.get("orch_trigger_to_paused_ms"), ".1f"),
             fmt(x.get("slowest_pause_ack_ms"), ".1f"), fmt(x.get("commit_ms"), ".1f"), str(x.get("proxies")),
             x.get("error") or ""] for i, x in enumerate(rounds)]
    md += table(["round", "begin → all paused (ms)", "orchestrator trigger → paused (ms)",
                 "slowest pause-ack (ms)", "commit → all switched (ms)", "proxies", "error"], rows)
    ok = [x for x in rounds if not x.get("error")]
    begins = [x["begin_to_paused_ms"] for x in ok if x.get("begin_to_paused_ms") is not None]
    commits = [x["commit_ms"] for x in ok if x.get("commit_ms") is not None]
    if begins and commits:
        mb, mc = median(begins), median(commits)
        v = "MET" if mb <= 250 and mc <= 250 and len(ok) == len(rounds) else "MISSED"
        md += ["", f"- begin → all paused and commit → all switched each ≤ 250 ms with {r.get('proxies')} proxies "
               f"(medians): **{v}** — {mb:.1f} ms and {mc:.1f} ms"]
    return md


MYSQL_TITLE = ("## MySQL: sysbench direct, through socat and through the proxy (--source-dialect mysql) on MariaDB; "
               "through a proxy cut over to PostgreSQL, and PostgreSQL direct")
MYSQL_ORDER = ["direct", "socat", "proxy", "after", "pgdirect"]


def load_mysql(d):
    runs = parse_kv_lines(d / "mysql.raw", "MYSQL")
    cells = {}
    for r in runs:
        if r.get("ok") != "1":
            continue
        by = cells.setdefault((r["workload"], int(r["threads"])), {}).setdefault(r["target"], {"tps": [], "qps": [], "cpu": []})
        by["tps"].append(num(r["tps"]))
        by["qps"].append(num(r["qps"]))
        cpu, q = num(r.get("cpu_s")), num(r.get("queries"))
        # The proxy's CPU per sysbench query, µs (proxy and after only).
        by["cpu"].append(cpu * 1e6 / q if cpu is not None and q else None)
    key = lambda wn: f"{wn[0]}:{wn[1]}"
    items = sorted(cells.items())
    return {
        "tps_median": {key(wn): {t: median(v["tps"]) for t, v in by.items()} for wn, by in items},
        "qps_median": {key(wn): {t: median(v["qps"]) for t, v in by.items()} for wn, by in items},
        "cpu_us_per_query_median": {key(wn): {t: median(v["cpu"]) for t, v in by.items() if median(v["cpu"]) is not None}
                                    for wn, by in items},
        "targets": [t for t in MYSQL_ORDER if any(t in by for by in cells.values())],
        "cutover": (load_json(d / "mysql-cutover.json") or {}).get("derived"),
        "runs": runs,
        "failed": [r for r in runs if r.get("ok") != "1"],
    }


def ratio(a, b):
    return a / b if a and b else None


def us_per_query(qps):
    return 1e6 / qps if qps else None


def diff(a, b):
    return a - b if a is not None and b is not None else None


def render_mysql(sec):
    md = section_head(MYSQL_TITLE, sec)
    data = sec.get("data") or {}
    med = data.get("tps_median") or {}
    if not med:
        return md
    qmed = data.get("qps_median") or {}
    cmed = data.get("cpu_us_per_query_median") or {}
    targets = data.get("targets") or MYSQL_ORDER
    md += ["Transactions per second, medians over the repetitions (oltp_point_select: one query per "
           f"transaction). Per rep, every cell runs {', '.join(targets)} in turn.", ""]
    rows, goals = [], []
    for key, t in med.items():
        w, n = key.split(":")
        d, s, p = t.get("direct"), t.get("socat"), t.get("proxy")
        pd, ps = ratio(p, d), ratio(p, s)
        rows.append([w, n, fmt(d, ".0f"), fmt(s, ".0f"), fmt(p, ".0f"), fmt(pd, ".2f"), fmt(ps, ".2f")])
        if w == "oltp_read_only" and n == "8":
            goals.append(f"- oltp_read_only, 8 threads: proxy ≥ 0.80 × direct: "
                         f"**{'MET' if pd is not None and pd >= 0.8 else 'MISSED'}** — {fmt(pd, '.2f')}×")
        if n == "1":
            goals.append(f"- {w}, 1 thread: proxy ≥ 0.95 × socat: "
                         f"**{'MET' if ps is not None and ps >= 0.95 else 'MISSED'}** — {fmt(ps, '.2f')}×")
    md += table(["workload", "threads", "direct tps", "socat tps", "proxy tps", "proxy / direct", "proxy / socat"], rows)
    md += [""] + goals
    if "after" in targets:
        has_pg = "pgdirect" in targets
        cut = data.get("cutover") or {}
        md += ["", "After the cutover: `after` is a second proxy, cut over before the runs "
               f"(begin → paused {fmt(cut.get('begin_to_paused_ms'), '.1f')} ms, commit {fmt(cut.get('finish_ms'), '.1f')} ms), "
               "serving the same sysbench (MySQL driver) from PostgreSQL through its gateway; "
               + ("`pgdirect` is sysbench's pgsql driver straight at the same PostgreSQL tables."
                  if has_pg else "no `pgdirect`: this sysbench has no pgsql driver."), ""]
        rows = []
        for key, t in med.items():
            w, n = key.split(":")
            p, a, d, g = t.get("proxy"), t.get("after"), t.get("direct"), t.get("pgdirect")
            row = [w, n, fmt(p, ".0f"), fmt(a, ".0f")] + ([fmt(g, ".0f")] if has_pg else [])
            row += [fmt(ratio(a, p), ".2f"), fmt(ratio(a, d), ".2f")] + ([fmt(ratio(a, g), ".2f")] if has_pg else [])
            rows.append(row)
        head = ["workload", "threads", "proxy tps", "after tps"] + (["pgdirect tps"] if has_pg else [])
        head += ["after / proxy", "after / direct"] + (["after / pgdirect"] if has_pg else [])
        md += table(head, rows)
        md += ["", "Per query: wall time per query at 1 thread (1e6 / qps, µs; its differences are what each "
               "path adds to a query: proxy − direct on MariaDB, after − pgdirect on PostgreSQL) and the proxy's "
               "CPU per query (user + system, µs, medians):", ""]
        rows = []
        for key, t in med.items():
            w, n = key.split(":")
            q, c = qmed.get(key, {}), cmed.get(key, {})
            wall = {x: us_per_query(q.get(x)) if n == "1" else None for x in ("direct", "proxy", "after", "pgdirect")}
            row = [w, n, fmt(wall["proxy"], ".1f"), fmt(wall["after"], ".1f")]
            row += [fmt(wall["pgdirect"], ".1f")] if has_pg else []
            row += [fmt(diff(wall["after"], wall["proxy"]), "+.1f")]
            # What each proxy adds to its own database: relaying to MariaDB against serving from PostgreSQL.
            row += [fmt(diff(wall["proxy"], wall["direct"]), "+.1f")]
            row += [fmt(diff(wall["after"], wall["pgdirect"]), "+.1f")] if has_pg else []
            row += [fmt(c.get("proxy"), ".1f"), fmt(c.get("after"), ".1f"), fmt(diff(c.get("after"), c.get("proxy")), "+.1f")]
            rows.append(row)
        head = ["workload", "threads", "µs/query proxy", "µs/query after"] + (["µs/query pgdirect"] if has_pg else [])
        head += ["after − proxy", "proxy − direct"] + (["after − pgdirect"] if has_pg else [])
        head += ["proxy CPU µs/query", "after CPU µs/query", "CPU after − proxy"]
        md += table(head, rows)
    errs = [r for r in data.get("runs", []) if r.get("errors") not in ("0", None)]
    md += ["", f"- sysbench errors: {'none' if not errs else ', '.join(r['target'] + ' ' + r['workload'] + ' ' + r.get('errors', '?') for r in errs)}"]
    for r in data.get("failed", []):
        md.append(f"- FAILED: {r['target']} {r['workload']} threads {r['threads']} rep {r['rep']} rc={r.get('rc')}")
    return md


def load_idle(d):
    runs = parse(d / "idle.raw") if (d / "idle.raw").exists() else []
    lines = parse_kv_lines(d / "idle.txt", "IDLE")
    conns = [x for x in lines if x.get("kind") == "conns"]
    sess = next((x for x in lines if x.get("kind") == "sessions"), None)
    auth = next((x for x in lines if x.get("kind") == "authsessions"), None)
    tps = {lab: median(num(r["tps"]) for r in runs if r["label"] == lab and r["ok"]) for lab in ("idle-without", "idle-beside")}
    cpu = {lab: median(r["cpu_us_per_xact"] for r in runs if r["label"] == lab and r["ok"]) for lab in ("idle-without", "idle-beside")}
    return {"conns": conns, "sessions": sess, "auth_sessions": auth, "tps_median": tps, "cpu_us_per_xact_median": cpu, "runs": runs}


def mib(kib):
    v = num(kib)
    return None if v is None else v / 1024


def render_idle(sec):
    md = section_head(IDLE_TITLE, sec)
    data = sec.get("data") or {}
    conns, sess, auth = data.get("conns", []), data.get("sessions"), data.get("auth_sessions")
    if not conns and not sess and not auth:
        return md
    md += ["A proxy (shadow none, fd limit raised), registered with its own orchestrator, fresh for (a), (b) and (c); "
           "pauses are begin → TrafficPaused, then abort. The proxy opens a backend session only for an authenticated "
           "client, so a logged-in idle client also holds a backend session; straight on PostgreSQL that is a backend "
           "process, and 10,000 of those do not fit on this machine. Measured: "
           "(a) connections that sent nothing yet (before the startup packet; the proxy closes them after 60 s), "
           "(b) authenticated idle sessions straight on the bench cluster, as many as it takes (IDLE_SESSIONS), "
           "(c) authenticated idle sessions on a proxy whose source and target are a PgBouncer in transaction pooling "
           "mode in front of the bench cluster, so that they share a few PostgreSQL backends (IDLE_AUTH_SESSIONS).", ""]
    goals = []
    if conns:
        md += ["(a) idle TCP connections before start-up, per rep:", ""]
        rows = []
        for x in conns:
            n = num(x.get("open")) or 0
            base, with_ = num(x.get("rss_base_kib")), num(x.get("rss_with_kib"))
            per = (with_ - base) / n if n and base is not None and with_ is not None else None
            x["kib_per_conn"] = per
            rows.append([x.get("rep", "?"), f"{x.get('open')}/{x.get('conns')}", x.get("connect_secs", "—"),
                         x.get("listen_overflows", "—"), x.get("proxy_saw", "—"), fmt(mib(base), ".1f"), fmt(mib(with_), ".1f"),
                         fmt(mib(x.get("rss_after_kib")), ".1f"), fmt(per, ".2f"), x.get("cpu_idle_pct", "—"),
                         x.get("pause_ms", "—"), x.get("abort_ms", "—"), x.get("alive_at_end", "—")])
        md += table(["rep", "open", "connect s", "SYNs dropped (accept queue full)", "proxy counted",
                     "RSS before MiB", "RSS with MiB", "RSS after close MiB", "KiB/conn", "proxy CPU idle %", "pause ms", "abort ms", "still open at end"], rows)
        t, c = data.get("tps_median", {}), data.get("cpu_us_per_xact_median", {})
        w, b = t.get("idle-without"), t.get("idle-beside")
        md += ["", f"pgbench -S, 8 clients, simple, through the same proxy (median tps): without {fmt(w, '.0f')}, "
               f"beside the idle connections {fmt(b, '.0f')} (ratio {fmt(b / w if w and b else None, '.3f')}); proxy CPU "
               f"per transaction {fmt(c.get('idle-without'), '.1f')} vs {fmt(c.get('idle-beside'), '.1f')} µs."]
        n = max(num(x.get("open")) or 0 for x in conns)
        rss = max(num(x.get("rss_with_kib")) or 0 for x in conns) / 1024
        pause = max(num(x.get("pause_ms")) or 0 for x in conns)
        if n >= 10000:
            goals.append(f"- RSS < 200 MiB with 10,000 idle connections (pre-startup): **{'MET' if rss < 200 else 'MISSED'}** "
                         f"— {rss:.1f} MiB with {n:.0f}")
            goals.append(f"- cutover pause < 1 s with 10,000 idle connections (pre-startup): "
                         f"**{'MET' if pause < 1000 else 'MISSED'}** — {pause:.0f} ms (begin → TrafficPaused)")
        else:
            pers = [x["kib_per_conn"] for x in conns if x.get("kib_per_conn") is not None]
            est = (min(num(x.get('rss_base_kib')) for x in conns) / 1024 + median(pers) * 10000 / 1024) if pers else None
            goals.append(f"- RSS < 200 MiB with 10,000 idle connections: **NOT MEASURED** at 10,000 (IDLE_CONNS={n:.0f}); "
                         f"linear estimate {fmt(est, '.0f')} MiB")
            goals.append(f"- cutover pause < 1 s with 10,000 idle connections: **NOT MEASURED** at 10,000; "
                         f"{pause:.0f} ms with {n:.0f}")
    auth_n = num(auth.get("proxy_saw")) if auth else None
    auth_ok = bool(auth and auth_n and auth_n >= (num(auth.get("sessions")) or 0) and num(auth.get("rss_with_kib")))
    if sess:
        n = num(sess.get("sessions")) or 0
        base, with_ = num(sess.get("rss_base_kib")), num(sess.get("rss_with_kib"))
        per = (with_ - base) / n if n and base is not None and with_ is not None else None
        anon = num(sess.get("pg_backend_rss_anon_kib_mean"))
        md += ["", "(b) authenticated idle sessions straight on the bench cluster (one pgbench, each client `SELECT 1` "
                   "then `\\sleep 5 s`):", ""]
        md += table(["sessions", "proxy counted", "RSS before MiB", "RSS with MiB", "KiB/session",
                     "PG backend private (RssAnon) MiB, mean", "pause ms", "abort ms", "pgbench errors"],
                    [[sess.get("sessions", "?"), sess.get("proxy_saw", "—"), fmt(mib(base), ".1f"), fmt(mib(with_), ".1f"),
                      fmt(per, ".1f"), fmt(mib(anon), ".2f") + f" ({sess.get('pg_backends', '?')} backends)",
                      sess.get("pause_ms", "—"), sess.get("abort_ms", "—"), sess.get("pgbench_errors", "—")]])
        if per is not None and anon:
            md += ["", f"Without a pooler, 10,000 such sessions would need 10,000 PostgreSQL backends: "
                       f"{anon * 10000 / 1024 / 1024:.1f} GiB private memory plus 10,000 processes (not measured: the "
                       "cluster cannot hold them here; (c) puts PgBouncer in between instead)."]
        if not auth_ok:
            if per is not None:
                md += ["", f"Linear estimate for 10,000 authenticated idle sessions: proxy {(base + per * 10000) / 1024:.0f} MiB."]
            goals.append(f"- RSS < 200 MiB with 10,000 authenticated idle sessions: **NOT MEASURED** (PostgreSQL cannot "
                         f"hold 10,000 backends on this machine); measured {n:.0f} sessions")
            p = num(sess.get("pause_ms"))
            goals.append(f"- cutover pause < 1 s with authenticated idle sessions: "
                         f"**{'MET' if p is not None and p < 1000 else 'MISSED' if p is not None else 'NOT MEASURED'}** at "
                         f"{n:.0f} sessions ({fmt(p, '.0f')} ms), NOT MEASURED at 10,000")
    if auth:
        md += render_auth_sessions(auth, goals)
    md += ["", "Goals:", ""] + goals
    bad = failed_run_lines(data.get("runs", []), data.get("_outdir", Path(".")))
    if bad:
        md += ["", "Failed runs:", ""] + bad
    return md


def render_auth_sessions(a, goals):
    """(c): authenticated idle sessions through PgBouncer in transaction pooling mode; appends its goal lines."""
    want = num(a.get("sessions")) or 0
    n = num(a.get("proxy_saw")) or 0
    base, with_ = num(a.get("rss_base_kib")), num(a.get("rss_with_kib"))
    per = (with_ - base) / n if n and base is not None and with_ is not None else None
    bbase, bwith = num(a.get("bouncer_rss_base_kib")), num(a.get("bouncer_rss_with_kib"))
    md = ["", f"(c) authenticated idle sessions through PgBouncer {a.get('pool_mode', 'transaction')} pooling "
              f"(default_pool_size {a.get('pool_size', '?')}) in front of the bench cluster: one pgbench with `-t`, whose "
              "clients all connect first (SCRAM each), then each runs `SELECT 1` then `\\sleep 5 s` (so the proxy "
              f"relays ~{want / 5:.0f} queries/s while they are held; its CPU below includes them):", ""]
    md += table(["sessions", "proxy counted", "connect s", "RSS before MiB", "RSS with MiB", "KiB/session",
                 "proxy CPU %", "PgBouncer server conns (pools bench + postgres)", "PG client backends (whole cluster)", "PgBouncer RSS with MiB",
                 "PgBouncer CPU %", "pause ms", "abort ms", "open after abort", "pgbench errors / failed xacts"],
                [[a.get("sessions", "?"), a.get("proxy_saw", "—"), a.get("connect_secs", "—"),
                  fmt(mib(base), ".1f"), fmt(mib(with_), ".1f"), fmt(per, ".1f"), a.get("cpu_pct", "—"),
                  a.get("bouncer_servers", "—"), a.get("pg_client_backends", "—"), fmt(mib(bwith), ".1f"),
                  a.get("bouncer_cpu_pct", "—"), a.get("pause_ms", "—"), a.get("abort_ms", "—"),
                  a.get("open_after_pause", "—"), f"{a.get('pgbench_errors', '—')} / {a.get('pgbench_failed', '—')}"]])
    md += ["", "Then a commit across the same sessions (each prepared on the target, the same PgBouncer, and switched):", ""]
    md += table(["pause ms", "commit request → CommitCompleted ms", "preparation ms (proxy)", "sessions prepared"],
                [[a.get("commit_pause_ms", "—"), a.get("commit_ms", "—"), a.get("prepare_ms", "—"),
                  a.get("prepared_sessions", "—")]])
    hard = num(a.get("fd_hard"))
    md += ["", f"fd limits: hard {a.get('fd_hard', '?')} per process (container), proxy {a.get('proxy_nofile', '?')}; "
               f"pgbench transactions {a.get('pgbench_processed', '—')}, rc {a.get('pgbench_rc', '—')}; "
               f"PgBouncer RSS before {fmt(mib(bbase), '.1f')} MiB."]
    why = ""
    if n and n < 10000:
        cap = int((hard - 256) // 2) if hard else None
        if cap is not None and cap < 10000 and n >= 9000:
            why = (f" — N is {n:.0f} rather than 10,000 because of the fd hard limit: the proxy needs two fds per "
                   f"session (client and backend) and the per-process hard limit here is {hard:.0f} (at most {cap} "
                   "sessions, keeping 256 fds spare)")
        elif cap is not None and cap < 10000:
            why = (f" — N is {n:.0f} (IDLE_AUTH_SESSIONS, below the default 9000); 10,000 would not fit anyway: two "
                   f"fds per session, fd hard limit {hard:.0f}")
        else:
            why = f" — N is {n:.0f} (IDLE_AUTH_SESSIONS), not 10,000"
    if not n or with_ is None or n < want:
        goals.append(f"- RSS < 200 MiB with N authenticated idle sessions: **NOT MEASURED** (the proxy held "
                     f"{n:.0f} of {want:.0f} sessions; see the errors above)")
        goals.append("- cutover pause < 1 s with N authenticated idle sessions: **NOT MEASURED**")
        return md
    rss = with_ / 1024
    if n < 10000 and per is not None:
        md += ["", f"Linear estimate for 10,000 authenticated idle sessions from (c): proxy "
                   f"{(base + per * 10000) / 1024:.0f} MiB (not measured: see N below)."]
    goals.append(f"- RSS < 200 MiB with N authenticated idle sessions: **{'MET' if rss < 200 else 'MISSED'}** — "
                 f"{rss:.1f} MiB with N = {n:.0f} (through PgBouncer, transaction pooling){why}")
    p = num(a.get("pause_ms"))
    goals.append(f"- cutover pause < 1 s with N authenticated idle sessions: "
                 f"**{'MET' if p is not None and p < 1000 else 'MISSED' if p is not None else 'NOT MEASURED'}** — "
                 f"{fmt(p, '.0f')} ms (begin → TrafficPaused) with N = {n:.0f}")
    return md


def load_sections(d, names, outdir):
    sections = {}
    for name in names:
        st = d / f"{name}.status"
        status = st.read_text().strip() if st.exists() else "not run"
        err = d / f"{name}.err"
        errors = [x for x in err.read_text().splitlines() if x.strip()] if err.exists() else []
        data = None
        if name == "shadow":
            data = load_shadow(d, outdir)
        elif name == "tracing":
            data = load_tracing(d, outdir)
        elif name == "cutover":
            data = load_json(d / "cutover.json")
        elif name == "idle":
            data = load_idle(d)
            data["_outdir"] = outdir
        elif name == "scale":
            data = load_json(d / "scale.json")
        elif name == "mysql":
            data = load_mysql(d)
        sections[name] = {"status": status, "errors": errors, "data": data}
    return sections


def json_safe(x):
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items() if not k.startswith("_") and k != "runs"}
    if isinstance(x, list):
        return [json_safe(v) for v in x]
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", required=True, help="file of RESULT lines")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--expected-runs", type=int, default=0)
    ap.add_argument("--not-measured", help="TSV: section<TAB>why")
    ap.add_argument("--meta", action="append", default=[], help="KEY=VALUE for the header")
    ap.add_argument("--sections-dir", help="where the sections after the matrix wrote their results")
    ap.add_argument("--sections", default="matrix shadow tracing mysql cutover idle scale", help="the SECTIONS of this run")
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

    sections = {}
    if a.sections_dir:
        names = ["matrix", "shadow", "tracing", "mysql", "cutover", "idle", "scale"]
        sections = load_sections(Path(a.sections_dir), names, outdir)
        if "matrix" in a.sections.split():
            sections["matrix"]["status"] = "failed" if (failed or missing) else "ok"
        else:
            sections["matrix"]["status"] = "skipped"
    md = render(meta, cells, checks, failed, missing, disturbed, not_measured, sections)
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
        "sections": {n: {"status": v["status"], "errors": v["errors"], "data": json_safe(v["data"])}
                     for n, v in sections.items()},
    }
    for n in ("shadow", "tracing", "idle"):
        if sections.get(n, {}).get("data"):
            result["sections"][n]["runs"] = [{k: v for k, v in r.items() if k not in ("log", "excerpt")}
                                             for r in sections[n]["data"].get("runs", [])]
    (outdir / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(md)
    sections_failed = [n for n, v in sections.items() if v["status"] == "failed" and n != "matrix"]
    return 1 if failed or missing or sections_failed else 0


if __name__ == "__main__":
    sys.exit(main())
