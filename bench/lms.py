#!/usr/bin/env python3
"""Small stdlib helpers for bench/run.sh's sections: HTTP to the proxies and the orchestrator,
driving a cutover through the orchestrator's REST API, and analysing pgbench logs around it.

  lms.py http METHOD URL [BODY]            print the response body; exit 1 unless 2xx
  lms.py wait-proxies API N [SECS] [--address ADDR]
                                           until the orchestrator lists N live proxies (with
                                           --address: N live ones whose lms_address is ADDR)
  lms.py wait-open ADMIN N [SECS]          until a proxy reports >= N open connections; prints it
  lms.py cutover API OUT [--finish commit|abort] [--hold-ms MS] [--timeout SECS] [--lms ADDR ...]
        POST begin, poll GET /api/v1/cutover/{id} until TrafficPaused, wait MS, POST commit (or
        abort); writes OUT (JSON: wall-clock times of each step, the attempt as the orchestrator
        returned it) and prints one summary line.
  lms.py cutover-analyze --drive JSON --out JSON --pgbench-out F... --pgbench-log F...
        [--history-source N --history-target N]
"""
import argparse
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime


def http(method, url, body=None, timeout=60):
    data = None if body is None else body.encode()
    req = urllib.request.Request(url, data=data, method=method)
    # The bench's processes share one control-plane token (bench/run.sh writes it).
    token_file = os.environ.get("MOLT_CONTROL_TOKEN_FILE")
    if token_file:
        with open(token_file) as f:
            req.add_header("Authorization", "Bearer " + f.read().strip())
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def get_json(url):
    code, text = http("GET", url)
    if code // 100 != 2:
        raise RuntimeError(f"GET {url}: HTTP {code}: {text[:300]}")
    return json.loads(text)


def post_json(url, body):
    code, text = http("POST", url, json.dumps(body))
    if code // 100 != 2:
        raise RuntimeError(f"POST {url}: HTTP {code}: {text[:500]}")
    return json.loads(text)


def ts(s):
    """RFC 3339 (humantime's, with Z) to epoch seconds."""
    return None if not s else datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def ms(a, b):
    return None if a is None or b is None else round((b - a) * 1000, 1)


def cmd_http(a):
    code, text = http(a.method, a.url, a.body)
    print(text)
    if code // 100 != 2:
        print(f"HTTP {code}", file=sys.stderr)
        return 1
    return 0


def poll(deadline_s, what, fn, interval=0.1):
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        try:
            ok, last = fn()
            if ok:
                return last
        except (OSError, RuntimeError, ValueError) as e:
            last = str(e)
        time.sleep(interval)
    raise SystemExit(f"timed out after {deadline_s}s waiting for {what} (last: {last})")


def cmd_wait_proxies(a):
    def check():
        st = get_json(f"http://{a.api}/api/v1/status")
        live = [p for p in st.get("proxies", []) if p.get("liveness") == "live"
                and (a.address is None or (p.get("registration") or {}).get("lms_address") == a.address)]
        return len(live) >= a.n, len(live)

    what = f"{a.n} live proxies" + (f" at {a.address}" if a.address else "")
    print(poll(a.secs, f"{what} in {a.api}'s status", check))
    return 0


def cmd_wait_open(a):
    def check():
        n = get_json(f"http://{a.admin}/api/v1/status").get("open_connections", 0)
        return n >= a.n, n

    print(poll(a.secs, f"{a.n} open connections on {a.admin}", check, interval=0.2))
    return 0


def cmd_cutover(a):
    base = f"http://{a.api}/api/v1"
    out = {"finish": a.finish, "hold_ms": a.hold_ms}
    try:
        # The cutover check runs before any pause; timed on its own (None where the
        # orchestrator has no check), and begin skips it so the pause is measured alone.
        t = time.time()
        try:
            query = f"?lms_addresses={','.join(a.lms)}" if a.lms else ""
            out["check"] = get_json(f"{base}/cutover/check{query}")
            out["check_ms"] = ms(t, time.time())
        except (RuntimeError, OSError, ValueError) as e:
            out["check_error"] = str(e)[:300]
        out["t_begin_request"] = time.time()
        began = post_json(f"{base}/cutover/begin", {"lms_addresses": a.lms or [], "skip_check": True})
        out["t_begin_answer"] = time.time()
        aid = began["id"]
        out["attempt_id"] = aid
        deadline = time.monotonic() + a.timeout
        polls = 0
        while True:
            att = get_json(f"{base}/cutover/{aid}")
            polls += 1
            if att["status"] == "TrafficPaused":
                out["t_paused_seen"] = time.time()
                break
            if att["status"] in ("Error", "AbortCompleted", "AbortStarted"):
                out["attempt_at_pause"] = att
                raise RuntimeError(f"attempt {aid} went to {att['status']} before pausing: {att.get('error')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"attempt {aid} not paused after {a.timeout}s: {json.dumps(att)[:800]}")
            time.sleep(0.005)
        out["polls"] = polls
        out["attempt_at_pause"] = att
        if a.hold_ms:
            time.sleep(a.hold_ms / 1000)
        out["t_finish_request"] = time.time()
        done = post_json(f"{base}/cutover/{a.finish}", {})
        out["t_finish_answer"] = time.time()
        out["attempt"] = done
        want = "CommitCompleted" if a.finish == "commit" else "AbortCompleted"
        if done["status"] != want:
            raise RuntimeError(f"attempt {aid} is {done['status']} after {a.finish}, not {want}: {done.get('error')}")
    except (RuntimeError, OSError, KeyError, ValueError) as e:
        out["error"] = str(e)
    att = out.get("attempt") or out.get("attempt_at_pause") or {}
    trig = ts(att.get("trigger_time"))
    out["derived"] = {
        "begin_to_paused_ms": ms(out.get("t_begin_request"), out.get("t_paused_seen")),
        "orch_trigger_to_paused_ms": ms(trig, ts(att.get("traffic_paused_time"))),
        "per_proxy_pause_ms": {p["lms_address"]: ms(ts(p.get("trigger_time")), ts(p.get("traffic_paused_time")))
                               for p in att.get("proxies", [])},
        "finish_ms": ms(out.get("t_finish_request"), out.get("t_finish_answer")),
        "check_ms": out.get("check_ms"),
        "per_proxy_prepare_ms": {p["lms_address"]: (p.get("prepare") or {}).get("millis")
                                 for p in att.get("proxies", []) if p.get("prepare")},
        "prepared_sessions": sum((p.get("prepare") or {}).get("sessions", 0) for p in att.get("proxies", [])),
        "begin_to_finished_ms": ms(out.get("t_begin_request"), out.get("t_finish_answer")),
        "proxies": len(att.get("proxies", [])),
        "connections": sum(p.get("connections", 0) for p in (out.get("attempt_at_pause") or {}).get("proxies", [])),
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2)
    d = out["derived"]
    prep = d["per_proxy_prepare_ms"]
    print(f"attempt={out.get('attempt_id')} begin_to_paused_ms={d['begin_to_paused_ms']} "
          f"{a.finish}_ms={d['finish_ms']} total_ms={d['begin_to_finished_ms']} check_ms={d['check_ms']} "
          f"prepare_ms={max(prep.values()) if prep and all(v is not None for v in prep.values()) else 'NA'} "
          f"prepared_sessions={d['prepared_sessions']} error={out.get('error', '-')}")
    return 1 if "error" in out else 0


# pgbench 15 per-transaction log: client_id transaction_no time script_no time_epoch time_us [...]
def read_txlog(paths):
    txs = []  # (end_epoch_s, latency_s)
    for p in paths:
        with open(p) as f:
            for line in f:
                x = line.split()
                if len(x) < 6 or not x[2].isdigit():
                    continue  # "skipped"/"failed" entries have no latency
                end = int(x[4]) + int(x[5]) / 1e6
                txs.append((end, int(x[2]) / 1e6))
    txs.sort()
    return txs


def pgbench_summary(path):
    text = open(path, errors="replace").read()

    def grab(rx, conv=float):
        m = re.search(rx, text, re.M)
        return conv(m.group(1)) if m else None

    return {
        "file": path,
        "clients": grab(r"^number of clients: (\d+)", int),
        "processed": grab(r"^number of transactions actually processed: (\d+)", int),
        "failed": grab(r"^number of failed transactions: (\d+)", int) or 0,
        "tps": grab(r"^tps = ([0-9.]+)"),
        "aborted_clients": len(re.findall(r"client \d+ aborted", text)),
        "errors": [x[:200] for x in re.findall(r"^.*(?:ERROR|FATAL|aborted|error:).*$", text, re.M)][:5],
        "rc": grab(r"^rc=(\d+)", int),
    }


def cmd_cutover_analyze(a):
    drive = json.load(open(a.drive))
    logs = sorted({p for g in a.pgbench_log for p in glob.glob(g)})
    txs = read_txlog(logs)
    runs = [pgbench_summary(p) for p in a.pgbench_out]
    res = {"drive": drive.get("derived", {}), "attempt_id": drive.get("attempt_id"), "drive_error": drive.get("error"),
           "pgbench": runs, "tx_logs": logs}
    errors = sum(r["failed"] + r["aborted_clients"] for r in runs) + sum(1 for r in runs if r["rc"] not in (0, None))
    res["errors"] = errors
    res["clients"] = sum(r["clients"] or 0 for r in runs)
    res["processed"] = sum(r["processed"] or 0 for r in runs)
    res["tps_total"] = round(sum(r["tps"] or 0 for r in runs), 1)
    tb, tf = drive.get("t_begin_request"), drive.get("t_finish_answer")
    if txs:
        first, last = txs[0][0], txs[-1][0]
        res["span_s"] = round(last - first, 2)
        res["max_latency_ms"] = round(max(l for _, l in txs) * 1000, 2)
        # largest time with no transaction completing anywhere: what the clients saw of the pause
        gaps = [(txs[i + 1][0] - txs[i][0], txs[i][0]) for i in range(len(txs) - 1)]
        g, at = max(gaps) if gaps else (0, first)
        res["longest_gap_ms"] = round(g * 1000, 1)
        res["longest_gap_starts_after_begin_ms"] = ms(tb, at) if tb else None
        if tb and tf:
            before = [l for e, l in txs if first + 1 <= e < tb]
            after_end = last - 1
            after = [(e, l) for e, l in txs if tf < e <= after_end]
            window = [l for e, l in txs if e >= tb and e - l <= tf]
            res["window_s"] = round(tf - tb, 3)
            res["tx_in_window"] = len(window)
            res["max_latency_in_window_ms"] = round(max(window) * 1000, 2) if window else None
            res["max_latency_before_ms"] = round(max(before) * 1000, 2) if before else None
            srt = sorted(before)
            res["p99_latency_before_ms"] = round(srt[int(0.99 * (len(srt) - 1))] * 1000, 2) if srt else None
            res["tps_before"] = round(len(before) / (tb - first - 1), 1) if tb - first > 1.5 else None
            res["tps_after"] = round(len(after) / (after_end - tf), 1) if after_end - tf > 0.5 else None
    if a.history_source is not None:
        res["history_rows_source"] = a.history_source
        res["history_rows_target"] = a.history_target
        res["history_rows_total"] = a.history_source + a.history_target
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
    print(json.dumps({k: v for k, v in res.items() if k not in ("pgbench", "tx_logs")}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("http")
    p.add_argument("method")
    p.add_argument("url")
    p.add_argument("body", nargs="?")
    p.set_defaults(fn=cmd_http)
    p = sub.add_parser("wait-proxies")
    p.add_argument("api")
    p.add_argument("n", type=int)
    p.add_argument("secs", type=float, nargs="?", default=30)
    p.add_argument("--address", help="count only the proxy registered with this lms_address (SQL address)")
    p.set_defaults(fn=cmd_wait_proxies)
    p = sub.add_parser("wait-open")
    p.add_argument("admin")
    p.add_argument("n", type=int)
    p.add_argument("secs", type=float, nargs="?", default=60)
    p.set_defaults(fn=cmd_wait_open)
    p = sub.add_parser("cutover")
    p.add_argument("api")
    p.add_argument("out")
    p.add_argument("--finish", choices=["commit", "abort"], default="commit")
    p.add_argument("--hold-ms", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--lms", action="append", help="restrict the attempt to this proxy (SQL address)")
    p.set_defaults(fn=cmd_cutover)
    p = sub.add_parser("cutover-analyze")
    p.add_argument("--drive", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--pgbench-out", nargs="+", default=[])
    p.add_argument("--pgbench-log", nargs="+", default=[], help="globs of pgbench -l files")
    p.add_argument("--history-source", type=int)
    p.add_argument("--history-target", type=int)
    p.set_defaults(fn=cmd_cutover_analyze)
    a = ap.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
