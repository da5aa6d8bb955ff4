#!/usr/bin/python3
"""One keep-alive connection, requests and shell commands in turn, for the
checks of what changes between two requests of one connection
(tests/integ/t_bypass6.sh).  python3 stdlib only.

  keepalive.py PORT STEP...

Each STEP is one argument:
  "REQ METHOD TARGET [NAME: VALUE|NAME: VALUE...]"
      a SigV4-signed request (rawhttp.sigv4_headers: $RAW_AKID,
      $RAW_SECRET, $RAW_REGION, and $RAW_TOKEN sent as x-amz-security-token
      if set; x-amz-* headers given are signed), Host
      127.0.0.1, no body, on the same connection; its answer is read whole
      (Content-Length or chunked) and "STATUS CODE" printed (CODE: the S3
      error code, "-" for none; "000 closed" if the connection was closed)
  "HALF METHOD TARGET [...]"  a REQ's head without its last CRLF (no answer read)
  "REST"          that CRLF; the answer read as for REQ
  "URL METHOD TARGET"   the same, unsigned (TARGET a presigned link's path and query)
  "RUN COMMAND"   a shell command; "run RC" printed
  "SLEEP S"       a pause
  "UNTIL T GAP STEP"  STEP again and again, each time preceded by the wall
                  clock it starts at ("%.9f", seconds since the epoch), GAP
                  seconds apart, until the clock reaches T (epoch seconds):
                  a loop that lasts as long as asked however fast each
                  request is
Ends at the first closed connection.
"""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawhttp  # noqa: E402


class _Closed(Exception):
    pass


def read_answer(sock, buf):
    """(status, body, rest) of one answer, or None if the peer closed first."""
    buf = bytearray(buf)	# not bytes: += and slicing copy all so far (quadratic)

    def until(enough):
        nonlocal buf
        while not enough():
            d = sock.recv(65536)
            if not d:
                raise _Closed
            buf += d

    try:
        until(lambda: b"\r\n\r\n" in buf)
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ")[1]
        hdrs = {}
        for l in lines[1:]:
            n, _, v = l.partition(":")
            hdrs[n.strip().lower()] = v.strip()
        body = bytearray()
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            until(lambda: len(buf) >= n)
            body, buf = buf[:n], buf[n:]
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            while True:
                until(lambda: b"\r\n" in buf)
                size_line, _, buf = buf.partition(b"\r\n")
                n = int(size_line.split(b";")[0], 16)
                until(lambda: len(buf) >= n + 2)
                body += buf[:n]
                del buf[:n + 2]
                if n == 0:
                    break
    except _Closed:
        return None
    return status, bytes(body), bytes(buf)


def main():
    port = int(sys.argv[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    buf = [b""]
    for step in sys.argv[2:]:
        if not run_step(sock, buf, step):
            return


def run_step(sock, buf, step):
    """Runs one STEP; False once the connection is closed."""
    kind, _, rest = step.partition(" ")
    if kind == "UNTIL":
        until, gap, inner = rest.split(" ", 2)
        while time.time() < float(until):
            print("%.9f" % time.time(), flush=True)
            if not run_step(sock, buf, inner):
                return False
            time.sleep(float(gap))
        return True
    if kind == "RUN":
        rc = subprocess.run(rest, shell=True).returncode
        print("run %d" % rc, flush=True)
        return True
    if kind == "SLEEP":
        time.sleep(float(rest))
        return True
    if kind == "REST":
        return answered(exchange(sock, "\r\n", buf))
    parts = rest.split(" ", 2)
    if kind == "URL":
        req = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n" % (parts[0], parts[1])
        return answered(exchange(sock, req, buf))
    method, target = parts[0], parts[1]
    extra = [tuple(x.strip() for x in h.split(":", 1)) for h in parts[2].split("|")] if len(parts) > 2 else []
    if os.environ.get("RAW_TOKEN"):
        extra.append(("x-amz-security-token", os.environ["RAW_TOKEN"]))
    sig = rawhttp.sigv4_headers(method, target, "127.0.0.1", os.environ["RAW_AKID"],
                                os.environ["RAW_SECRET"], os.environ.get("RAW_REGION", "us-east-1"),
                                "UNSIGNED-PAYLOAD",
                                [(n, v) for n, v in extra if n.lower().startswith("x-amz-")])
    req = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%sContent-Length: 0\r\n\r\n" % (
        method, target, "".join("%s: %s\r\n" % (n, v) for n, v in extra), sig)
    if kind == "HALF":
        sock.sendall(req[:-2].encode("latin-1"))
        return True
    return answered(exchange(sock, req, buf))


def answered(line):
    """Prints an exchange's line; False if the connection was closed."""
    print(line, flush=True)
    return line != "000 closed"


def exchange(sock, req, buf):
    """Sends REQ, reads its answer: "STATUS CODE" or "000 closed"."""
    try:
        sock.sendall(req.encode("latin-1"))
        got = read_answer(sock, buf[0])
    except OSError:
        got = None
    if got is None:
        return "000 closed"
    status, body, buf[0] = got
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return "%s %s" % (status, m.group(1).decode() if m else "-")


if __name__ == "__main__":
    main()
