#!/usr/bin/env python3
"""Holds N idle TCP connections to HOST:PORT that send nothing: clients before their startup
packet, as a PostgreSQL-protocol proxy sees them before authentication (stdlib only).

Writes one status line to --status (replaced atomically) once every connection was tried:
  open=N failed=F secs=S listen_overflows=L first_error=...
(L: the machine's TcpExt ListenOverflows grew by that much meanwhile: SYNs a full accept queue
dropped, each retried by the kernel 1 s later).
then waits. SIGUSR1 rewrites the line with alive=A (connections the peer has not closed);
SIGTERM or SIGINT does the same, closes every connection and exits 0.
Raises its own RLIMIT_NOFILE as far as needed (root may raise the hard limit too).
"""
import argparse
import errno
import os
import resource
import selectors
import signal
import socket
import sys
import time


def write_status(path, fields):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(" ".join(f"{k}={v}" for k, v in fields.items()) + "\n")
    os.replace(tmp, path)


def alive_count(socks):
    n = 0
    for s in socks:
        try:
            data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            n += 1 if data else 0  # b"" is EOF: the peer closed it
        except BlockingIOError:
            n += 1  # nothing to read, still connected
        except OSError:
            pass  # reset
    return n


def listen_overflows():
    """TcpExt ListenOverflows (machine-wide): SYNs dropped because an accept queue was full."""
    try:
        lines = [x.split() for x in open("/proc/net/netstat") if x.startswith("TcpExt:")]
        return int(dict(zip(lines[0][1:], lines[1][1:]))["ListenOverflows"])
    except (OSError, KeyError, IndexError, ValueError):
        return None


def open_all(a, state):
    """Non-blocking connects, WINDOW at a time: a SYN the listener drops (its accept queue is
    full) is retried by the kernel after 1 s, and the other connects go on meanwhile."""
    sel = selectors.DefaultSelector()
    socks, failed, first_error, started, pending = [], 0, "-", 0, 0
    deadline = time.monotonic() + a.timeout

    def fail(s, err):
        nonlocal failed, first_error
        failed += 1
        if first_error == "-":
            first_error = str(err).replace(" ", "_")
        s.close()

    while (started < a.n or pending) and not state["stop"] and time.monotonic() < deadline and failed < 100:
        while started < a.n and pending < a.window:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            started += 1
            err = s.connect_ex((a.host, a.port))
            if err in (0, errno.EINPROGRESS):
                sel.register(s, selectors.EVENT_WRITE)
                pending += 1
            else:
                fail(s, os.strerror(err))
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            sel.unregister(s)
            pending -= 1
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                socks.append(s)
            else:
                fail(s, os.strerror(err))
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
        fail(key.fileobj, "connect timed out")
    return socks, failed, first_error


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--status", required=True)
    ap.add_argument("--window", type=int, default=64, help="connects in flight at once")
    ap.add_argument("--timeout", type=float, default=45, help="seconds for opening them all")
    a = ap.parse_args()

    need = a.n + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(need, hard)))
        except (ValueError, OSError) as e:
            write_status(a.status, {"open": 0, "failed": a.n, "secs": 0,
                                    "first_error": f"RLIMIT_NOFILE_{soft}/{hard}_cannot_be_raised_to_{need}:{e}".replace(" ", "_")})
            return 1

    state = {"stop": False, "report": False}
    signal.signal(signal.SIGTERM, lambda *_: state.update(stop=True))
    signal.signal(signal.SIGINT, lambda *_: state.update(stop=True))
    signal.signal(signal.SIGUSR1, lambda *_: state.update(report=True))

    overflows0 = listen_overflows()
    t0 = time.monotonic()
    socks, failed, first_error = open_all(a, state)
    fields = {"open": len(socks), "failed": failed, "secs": f"{time.monotonic() - t0:.2f}",
              "listen_overflows": (listen_overflows() - overflows0) if overflows0 is not None else "NA",
              "first_error": first_error}
    write_status(a.status, fields)
    while not state["stop"]:
        if state["report"]:
            state["report"] = False
            write_status(a.status, {**fields, "alive": alive_count(socks)})
        time.sleep(0.1)
    write_status(a.status, {**fields, "alive": alive_count(socks)})
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
