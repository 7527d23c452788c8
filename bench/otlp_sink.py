#!/usr/bin/env python3
"""An OTLP/HTTP sink for bench/tracing.sh (stdlib only): answers POST /v1/traces with 200 and
an empty body (an empty ExportTraceServiceResponse), counts the exports, their bytes and the
spans in them, and discards them. Anything else gets 404 and is counted apart.

  otlp_sink.py --status FILE [--port PORT]

Listens on 127.0.0.1 (PORT, default 0: any free port) and prints one line when it does:
  otlp-sink ready addr=127.0.0.1:PORT
On SIGTERM or SIGINT it writes one line to FILE (replaced atomically) and exits 0:
  exports=N bytes=B spans=S undecoded=U other_requests=O cpu_s=C
(exports and bytes: the POSTs to /v1/traces and their bodies; spans: the spans in them;
undecoded: bodies that are not an uncompressed protobuf ExportTraceServiceRequest, whose spans
are not counted; cpu_s: the sink's own CPU time).
"""
import argparse
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS = {"exports": 0, "bytes": 0, "spans": 0, "undecoded": 0, "other_requests": 0}
LOCK = threading.Lock()


def varint(b, i):
    n = shift = 0
    while True:
        x = b[i]
        i += 1
        n |= (x & 0x7F) << shift
        if x < 0x80:
            return n, i
        shift += 7


def fields(b, i, end):
    """(field number, start, end) of each length-delimited field of the message b[i:end]."""
    while i < end:
        key, i = varint(b, i)
        wire = key & 7
        if wire == 2:
            n, i = varint(b, i)
            if i + n > end:
                raise ValueError("field past the end of its message")
            yield key >> 3, i, i + n
            i += n
        elif wire == 0:
            _, i = varint(b, i)
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire}")


def count_spans(body):
    """Spans in an ExportTraceServiceRequest: resource_spans (1) -> scope_spans (2) -> spans (2)
    (opentelemetry-proto, collector/trace/v1/trace_service.proto and trace/v1/trace.proto)."""
    b = memoryview(body)
    return sum(1 for f1, s1, e1 in fields(b, 0, len(b)) if f1 == 1
               for f2, s2, e2 in fields(b, s1, e1) if f2 == 2
               for f3, _, _ in fields(b, s2, e2) if f3 == 2)


def read_body(rfile, headers):
    """The request body (Content-Length or chunked)."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        parts = []
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(rfile.read(size))
            rfile.readline()  # the CRLF after the chunk
    return rfile.read(int(headers.get("Content-Length") or 0))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's client expects

    def answer(self, code, content_type=None):
        self.send_response(code)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = read_body(self.rfile, self.headers)
        traces = self.path.split("?")[0] == "/v1/traces"
        spans = None
        if traces and not self.headers.get("Content-Encoding"):
            try:
                spans = count_spans(body)
            except (IndexError, ValueError):
                pass
        with LOCK:
            if traces:
                COUNTS["exports"] += 1
                COUNTS["bytes"] += len(body)
                COUNTS["spans"] += spans or 0
                COUNTS["undecoded"] += spans is None
            else:
                COUNTS["other_requests"] += 1
        if traces:
            self.answer(200, "application/x-protobuf")
        else:
            self.answer(404)

    def do_GET(self):
        with LOCK:
            COUNTS["other_requests"] += 1
        self.answer(404)

    def log_message(self, *args):
        pass  # one line per export would only cost CPU


def write_status(path):
    with LOCK:
        fields = {**COUNTS, "cpu_s": f"{time.process_time():.2f}"}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(" ".join(f"{k}={v}" for k, v in fields.items()) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--status", required=True, help="where the counts go on SIGTERM or SIGINT")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"otlp-sink ready addr=127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        write_status(a.status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
