#!/usr/bin/python3
"""Load shapes for tests/integ/t_bypass14.sh (resource exhaustion), python3
stdlib only.  Keys from $RAW_AKID / $RAW_SECRET, region $RAW_REGION; every
request goes to 127.0.0.1:PORT with Host 127.0.0.1.

  exhaust.py akids PORT N [--conns C] [--len L] [--collide [--first I]]
      N GETs of --path (/ws-nobody/k) each naming another access key id
      (random, L characters, 128; or with --collide the FNV-1a colliding
      keys number I, I+1, ... below), a forged signature: an outsider's,
      pipelined 100 at a time on C (4) connections.  Prints "answered=..
      s403=.. other=.. secs=..".
  exhaust.py awschunked PORT PATH MODE SIZE CHUNK [--ext N] [--outer K]
      A signed PUT of SIZE bytes as aws-chunked, CHUNK data bytes a chunk;
      MODE "signed" (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, each chunk signed)
      or "trailer" (STREAMING-UNSIGNED-PAYLOAD-TRAILER, a CRC32 trailer).
      --ext N adds a chunk extension of N bytes to every chunk line;
      --outer K wraps the body in Transfer-Encoding: chunked of K-byte
      chunks (else Content-Length).  Prints "STATUS wire=.. secs=..".
  exhaust.py pipeline PORT PATH N
      N signed GETs of PATH in one write; prints "answers=.. statuses=..
      closed=.." (statuses counted) once every answer came or the peer
      closed.
  exhaust.py stall PORT PUT|GET PATH N SECONDS [--ready FILE]
      N connections, each a signed PUT of PATH ({I}: the connection's
      number) with Content-Length 1 MiB that sends 1 body byte, or a signed
      GET whose answer is never read (receive buffer 4 KiB); then waits up
      to SECONDS (until all are closed, for PUTs); writes "held N" to FILE
      once every head is sent.  Prints "closed=.. of=.. first=.. max=.."
      (PUTs: seconds from the last head to each close).
  exhaust.py req PORT METHOD PATH [--body FILE] [--signed-body] [--bad-sig]
                 [--header "NAME: VALUE"]... [--length N --stream] [--until-close]
      One signed request (UNSIGNED-PAYLOAD, or the body's SHA-256 with
      --signed-body; --bad-sig spoils the signature); --stream sends N body
      bytes as fast as they are taken.  Prints "STATUS CODE closed=..
      sent=.. secs=.." (CODE: the S3 error code, "-" for none).
  exhaust.py pace PORT PUT|GET PATH --length N --step B --every S [--wait W]
                  [--seconds D] [--rcvbuf N]
      One signed request at a pace: a PUT of Content-Length N whose body
      goes B bytes every S seconds, or a GET of PATH (receive buffer
      --rcvbuf, 4 KiB) whose answer is read B bytes every S seconds (as
      many reads as B takes), until all is moved, the
      peer closes or D seconds passed (no limit), then up to W (10) seconds
      for the PUT's answer.
      Prints "STATUS closed=.. moved=.. secs=..": STATUS the answer's (000:
      none), closed 1 if the peer closed before all was moved, moved the
      body bytes sent (PUT) or received (GET), secs from the head to the
      end.
  exhaust.py early PORT PATH --length N [--step B] [--every S] [--rcvbuf R]
                  [--read-after T]
      A signed PUT of Content-Length N whose body goes B (65536) bytes
      with the head and every S (0.05) seconds after, for T (0.5) seconds
      in which nothing is read (an answer on its way over a network: the
      client does not know of it yet), through a receive buffer of R
      (4096) bytes; then the answer is read.  Prints "STATUS whole=..
      end=..": whole=1 if the answer's body came whole (Content-Length),
      end=eof if the connection then ended with a FIN, reset if with a
      reset.
"""
import argparse
import hashlib
import hmac
import os
import random
import select
import socket
import string
import sys
import time
import zlib
import base64

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawhttp  # noqa: E402

AKID = os.environ.get("RAW_AKID", "")
SECRET = os.environ.get("RAW_SECRET", "")
REGION = os.environ.get("RAW_REGION", "us-east-1")
EMPTY = hashlib.sha256(b"").hexdigest()


def signed_head(method, path, payload, extra):
    """Head lines for METHOD PATH signed with PAYLOAD and the x-amz-* (and
    Content-Encoding) of EXTRA (name, value), which all follow; returns
    (head text without the final CRLF, seed signature, signing key,
    amzdate, scope): rawhttp.sigv4_sign's."""
    signed = [(n, v) for n, v in extra
              if n.lower().startswith("x-amz-") or n.lower() == "content-encoding"]
    lines, sig, k, amzdate, scope = rawhttp.sigv4_sign(method, path, "127.0.0.1", AKID, SECRET,
                                                       REGION, payload, signed)
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path) + lines
    for n, v in extra:
        head += "%s: %s\r\n" % (n, v)
    return head, sig, k, amzdate, scope


def read_answers(sock, want, timeout):
    """Reads until WANT answers (heads; bodies by Content-Length) came or the
    peer closed; returns (statuses, closed)."""
    sock.settimeout(timeout)
    # a bytearray read from POS: bytes' += and slicing copy all so far (quadratic)
    buf, pos, statuses, closed = bytearray(), 0, [], False
    end = time.time() + timeout
    while len(statuses) < want and time.time() < end:
        while True:
            i = buf.find(b"\r\n\r\n", pos)
            if i < 0:
                break
            head = buf[pos:i].decode("latin-1")
            cl = 0
            for line in head.split("\r\n")[1:]:
                n, _, v = line.partition(":")
                if n.strip().lower() == "content-length":
                    cl = int(v.strip())
            if len(buf) < i + 4 + cl:
                break
            statuses.append(head.split(" ")[1])
            pos = i + 4 + cl
        if len(statuses) >= want:
            break
        del buf[:pos]
        pos = 0
        try:
            d = sock.recv(1 << 20)
        except socket.timeout:
            break
        except OSError:
            closed = True
            break
        if not d:
            closed = True
            break
        buf += d
    return statuses, closed


# Pairs of 6-character blocks, each pair bringing FNV-1a (64 bits, the
# offset basis xor 0) from the state the blocks before it leave to states
# equal in their low 45 bits, whichever of the two is taken (found by
# birthday search, a few seconds of C): the 2^16 keys made of one block of
# each pair have FNV-1a states equal in the low 45 bits, so values
# h ^ (h >> 29) equal in the low 16.  A table indexed by those bits holds
# all of them in one chain.
FNV_PAIRS = """F1TONU 6AFX91 WSFZ95 GCPINQ QMOCI0 3JEZVO IFASEL 7Y7AJ8 JSFW8T ZCTFQ0 2TLJSK TOH5T4 YZQNNT IJOY90 CZTT4R SJFS36 80CCUF NP8N14 TIPTOQ DYBS85 WVZJ00 GFDSYT RH0DUJ 0ETAH7 74RW7U GDLVV1 DYGX9P 4IUON4 937OD6 V91ORI RABAX8 4TFDEE""".split()


def flood_akid(i):
    return "".join(FNV_PAIRS[2 * b + ((i >> b) & 1)] for b in range(len(FNV_PAIRS) // 2))


def cmd_akids(a):
    t0 = time.time()
    per = a.n // a.conns
    res = {"answered": 0, "s403": 0, "other": 0}
    socks = [socket.create_connection(("127.0.0.1", a.port)) for _ in range(a.conns)]
    sent = [0] * a.conns
    day = time.strftime("%Y%m%d", time.gmtime())
    amzdate = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    alpha = string.ascii_uppercase + string.digits
    while min(sent) < per:
        for i, s in enumerate(socks):
            if sent[i] >= per:
                continue
            batch = min(100, per - sent[i])
            reqs = []
            for _ in range(batch):
                if a.collide:
                    akid = flood_akid(a.first + (i * per + sent[i] + len(reqs)))
                else:
                    akid = "".join(random.choice(alpha) for _ in range(a.len))
                reqs.append("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-date: %s\r\n"
                            "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nAuthorization: AWS4-HMAC-SHA256 "
                            "Credential=%s/%s/%s/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;"
                            "x-amz-date, Signature=%s\r\n\r\n" % (a.path, amzdate, akid, day, REGION, "0" * 64))
            s.sendall("".join(reqs).encode())
            st, closed = read_answers(s, batch, 30)
            res["answered"] += len(st)
            res["s403"] += st.count("403")
            res["other"] += len(st) - st.count("403")
            sent[i] += batch
            if closed or len(st) < batch:
                sent[i] = per
    print("answered=%d s403=%d other=%d secs=%.2f" % (res["answered"], res["s403"], res["other"],
                                                       time.time() - t0))


def awschunked_body(mode, data, chunk, ext, sig, key, amzdate, scope, crc=None):
    """DATA as an aws-chunked body of CHUNK-byte chunks: "signed" (each
    chunk signed in a chain from SIG, the request's seed signature, with
    rawhttp.sigv4_sign's KEY, AMZDATE and SCOPE), "trailer" (unsigned,
    a CRC32 trailer) or "signed-trailer" (signed chunks, then a CRC32
    trailer and its signature); EXT: a chunk extension of that many bytes
    on each; CRC: the trailer's CRC32 if not DATA's."""
    out = []
    prev = sig
    extension = (";x-pad=" + "e" * max(0, ext - 7)) if ext else ""
    pos = 0
    crc = (zlib.crc32(data) & 0xffffffff) if crc is None else crc
    trailer = b"x-amz-checksum-crc32:%s" % base64.b64encode(crc.to_bytes(4, "big"))
    while True:
        piece = data[pos:pos + chunk]
        pos += len(piece)
        if mode in ("signed", "signed-trailer"):
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amzdate, scope, prev, EMPTY,
                             hashlib.sha256(piece).hexdigest()])
            prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            out.append(b"%x;chunk-signature=%s%s\r\n" % (len(piece), prev.encode(), extension.encode()))
        else:
            out.append(b"%x%s\r\n" % (len(piece), extension.encode()))
        out.append(piece)
        if not piece:
            break
        out.append(b"\r\n")
    if mode == "signed":
        out.append(b"\r\n")
    elif mode == "signed-trailer":
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amzdate, scope, prev,
                         hashlib.sha256(trailer + b"\n").hexdigest()])
        tsig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        out.append(trailer + b"\r\nx-amz-trailer-signature:%s\r\n\r\n" % tsig.encode())
    else:
        out.append(trailer + b"\r\n\r\n")
    return b"".join(out)


def cmd_awschunked(a):
    payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" if a.mode == "signed" else "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    extra = [("x-amz-decoded-content-length", str(a.size))]
    if a.mode != "signed":
        extra.append(("x-amz-trailer", "x-amz-checksum-crc32"))
    extra.append(("Content-Encoding", "aws-chunked"))
    head, sig, key, amzdate, scope = signed_head("PUT", a.path, payload, extra)
    body = awschunked_body(a.mode, b"x" * a.size, a.chunk, a.ext, sig, key, amzdate, scope)
    if a.outer:
        framed = []
        for i in range(0, len(body), a.outer):
            framed.append(b"%x\r\n" % len(body[i:i + a.outer]) + body[i:i + a.outer] + b"\r\n")
        framed.append(b"0\r\n\r\n")
        body = b"".join(framed)
        head += "Transfer-Encoding: chunked\r\n"
    else:
        head += "Content-Length: %d\r\n" % len(body)
    head += "Connection: close\r\n\r\n"
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", a.port))
    try:
        s.sendall(head.encode() + body)
    except OSError:
        pass	# refused before the body's end: the answer is still there to read
    st, _ = read_answers(s, 1, 120)
    print("%s wire=%d secs=%.2f" % (st[0] if st else "000", len(body), time.time() - t0))


def cmd_req(a):
    """A signed request; prints "STATUS CODE closed=.. secs=.."."""
    body = open(a.body, "rb").read() if a.body else b""
    payload = hashlib.sha256(body).hexdigest() if a.signed_body else "UNSIGNED-PAYLOAD"
    extra = [tuple(x.split(": ", 1)) for x in a.header]
    head, _, _, _, _ = signed_head(a.method, a.path, payload, extra)
    if a.bad_sig:
        i = head.index("Signature=") + len("Signature=")
        head = head[:i] + ("1" if head[i] == "0" else "0") + head[i + 1:]
    data = (head + "Content-Length: %d\r\n\r\n" % (a.length if a.length >= 0 else len(body))).encode() + body
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", a.port))
    sent = 0
    try:
        s.sendall(data)
        sent = len(body)
        while a.stream and sent < a.length:
            s.sendall(b"x" * 65536)
            sent += 65536
    except OSError:
        pass
    s.settimeout(a.wait)
    got, whole = bytearray(), None	# whole: the answer's length once its head is in, -1 unknown
    closed = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = 1
                break
            got += d
            if whole is None and b"\r\n\r\n" in got and not a.until_close:
                hd, _, rest = got.partition(b"\r\n\r\n")
                cl = [int(l.split(b":")[1]) for l in hd.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                whole = len(hd) + 4 + cl[0] if cl else -1
            if whole is not None and whole >= 0 and len(got) >= whole:
                break
    except socket.timeout:
        pass
    except OSError:
        closed = 1
    got = bytes(got)
    st = status_of(got)
    code = got.split(b"<Code>")[1].split(b"<")[0].decode() if b"<Code>" in got else "-"
    print("%s %s closed=%d sent=%d secs=%.2f" % (st, code, closed, sent, time.time() - t0))


def cmd_pipeline(a):
    reqs = []
    for _ in range(a.n):
        head, _, _, _, _ = signed_head("GET", a.path, "UNSIGNED-PAYLOAD", [])
        reqs.append(head + "\r\n")
    s = socket.create_connection(("127.0.0.1", a.port))
    s.sendall("".join(reqs).encode())
    st, closed = read_answers(s, a.n, 60)
    counts = {}
    for x in st:
        counts[x] = counts.get(x, 0) + 1
    print("answers=%d statuses=%s closed=%d" % (len(st), ",".join("%s:%d" % kv for kv in sorted(counts.items())),
                                               int(closed)))


def cmd_stall(a):
    """N connections, each a signed PUT (Content-Length 1 MiB) or GET of
    PATH that sends its head and 1 body byte (PUT) or reads nothing (GET),
    then waits up to SECONDS; writes "held N" to --ready once all are sent.
    Prints "closed=.. of=.. first=.. max=.."."""
    socks = []
    for i in range(a.n):
        s = socket.socket()
        if a.method == "GET":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", a.port))
        path = a.path.replace("{I}", str(i))
        head, _, _, _, _ = signed_head(a.method, path, "UNSIGNED-PAYLOAD", [])
        if a.method == "PUT":
            s.sendall((head + "Content-Length: 1048576\r\n\r\nx").encode())
        else:
            s.sendall((head + "\r\n").encode())
        s.setblocking(False)
        socks.append(s)
    t0 = time.time()
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("held %d\n" % a.n)
    closed = {}
    while time.time() - t0 < a.seconds and len(closed) < a.n:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if a.method == "GET":
                    d = s.recv(1, socket.MSG_PEEK)
                    # a reader that never reads: only EOF or a reset counts
                    if not d:
                        closed[i] = time.time() - t0
                    continue
                d = s.recv(65536)
                if not d:
                    closed[i] = time.time() - t0
            except BlockingIOError:
                pass
            except OSError:
                closed[i] = time.time() - t0
        if a.method == "GET":
            # a full receive queue never shows EOF: look at the socket's state
            for i, s in enumerate(socks):
                if i not in closed:
                    try:
                        st = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
                        if st in (7, 8):	# TCP_CLOSE, TCP_CLOSE_WAIT
                            closed[i] = time.time() - t0
                    except OSError:
                        closed[i] = time.time() - t0
        time.sleep(0.05)
    v = sorted(closed.values())
    print("closed=%d of=%d first=%.1f max=%.1f" % (len(v), a.n, v[0] if v else -1, v[-1] if v else -1))


def status_of(got):
    """The status code of the first answer in GOT ("000": none)."""
    return got.split(b" ")[1].decode() if got.startswith(b"HTTP/") else "000"


def recv_head(s):
    """Reads until an answer's head is in (and what came with it), the peer
    closes or the socket's timeout passes; returns what came."""
    got = bytearray()
    try:
        while b"\r\n\r\n" not in got:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    return bytes(got)


def cmd_pace(a):
    s = socket.socket()
    if a.method == "GET":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    s.connect(("127.0.0.1", a.port))
    head, _, _, _, _ = signed_head(a.method, a.path, "UNSIGNED-PAYLOAD", [])
    t0 = time.time()
    moved, closed, got = 0, 0, b""
    if a.method == "PUT":
        s.sendall((head + "Content-Length: %d\r\n\r\n" % a.length).encode())
        try:
            while moved < a.length and time.time() - t0 < a.seconds:
                n = min(a.step, a.length - moved)
                s.sendall(b"p" * n)
                moved += n
                if moved < a.length:
                    time.sleep(a.every)
        except OSError:
            closed = 1
        s.settimeout(a.wait)
        got = recv_head(s)
    else:
        s.sendall((head + "\r\n").encode())
        s.settimeout(a.wait)
        try:
            got = recv_head(s)
            hd, _, d = got.partition(b"\r\n\r\n")
            want = [int(l.split(b":")[1]) for l in hd.split(b"\r\n")
                    if l.lower().startswith(b"content-length:")][0]
            moved, tick = len(d), len(d)
            while moved < want and time.time() - t0 < a.seconds:
                if tick >= a.step:	# this tick's bytes are in: the pause
                    time.sleep(a.every)
                    tick = 0
                d = s.recv(min(a.step - tick, 65536))
                if not d:
                    closed = 1
                    break
                moved += len(d)
                tick += len(d)
        except (OSError, IndexError, ValueError):	# closed, or no head / no Content-Length
            closed = 1
    st = status_of(got)
    print("%s closed=%d moved=%d secs=%.2f" % (st, closed, moved, time.time() - t0))


def cmd_early(a):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    s.connect(("127.0.0.1", a.port))
    head, _, _, _, _ = signed_head("PUT", a.path, "UNSIGNED-PAYLOAD", [])
    sent = min(a.step, a.length)	# the first step with the head, as curl sends it
    s.sendall((head + "Content-Length: %d\r\n\r\n" % a.length).encode() + b"e" * sent)
    s.setblocking(False)
    t0 = time.time()
    got, end = bytearray(), "wait"
    # sending, reading nothing for --read-after seconds (the answer on its way)
    while time.time() - t0 < a.read_after and sent < a.length:
        _, w, _ = select.select([], [s], [], a.every)
        if w:
            try:
                sent += s.send(b"e" * min(a.step, a.length - sent))
            except BlockingIOError:
                pass
            except OSError:
                break	# reset: what came is still read below
            time.sleep(a.every)
    s.setblocking(True)
    s.settimeout(10)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                end = "eof"
                break
            got += d
    except ConnectionResetError:
        end = "reset"
    except OSError:
        pass
    got = bytes(got)
    hd, _, body = got.partition(b"\r\n\r\n")
    cl = [int(l.split(b":")[1]) for l in hd.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    whole = int(bool(cl) and len(body) >= cl[0])
    st = status_of(got)
    print("%s whole=%d end=%s" % (st, whole, end))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("akids")
    x.add_argument("port", type=int)
    x.add_argument("n", type=int)
    x.add_argument("--conns", type=int, default=4)
    x.add_argument("--path", default="/ws-nobody/k")
    x.add_argument("--len", type=int, default=128)
    x.add_argument("--collide", action="store_true")
    x.add_argument("--first", type=int, default=0)
    x = sub.add_parser("awschunked")
    x.add_argument("port", type=int)
    x.add_argument("path")
    x.add_argument("mode", choices=["signed", "trailer"])
    x.add_argument("size", type=int)
    x.add_argument("chunk", type=int)
    x.add_argument("--ext", type=int, default=0)
    x.add_argument("--outer", type=int, default=0)
    x = sub.add_parser("pipeline")
    x.add_argument("port", type=int)
    x.add_argument("path")
    x.add_argument("n", type=int)
    x = sub.add_parser("stall")
    x.add_argument("port", type=int)
    x.add_argument("method", choices=["PUT", "GET"])
    x.add_argument("path")
    x.add_argument("n", type=int)
    x.add_argument("seconds", type=float)
    x.add_argument("--ready")
    x = sub.add_parser("pace")
    x.add_argument("port", type=int)
    x.add_argument("method", choices=["PUT", "GET"])
    x.add_argument("path")
    x.add_argument("--length", type=int, default=0)
    x.add_argument("--step", type=int, required=True)
    x.add_argument("--every", type=float, required=True)
    x.add_argument("--wait", type=float, default=10)
    x.add_argument("--seconds", type=float, default=float("inf"))
    x.add_argument("--rcvbuf", type=int, default=4096)
    x = sub.add_parser("early")
    x.add_argument("port", type=int)
    x.add_argument("path")
    x.add_argument("--length", type=int, required=True)
    x.add_argument("--step", type=int, default=65536)
    x.add_argument("--every", type=float, default=0.05)
    x.add_argument("--rcvbuf", type=int, default=4096)
    x.add_argument("--read-after", type=float, default=0.5)
    x = sub.add_parser("req")
    x.add_argument("port", type=int)
    x.add_argument("method")
    x.add_argument("path")
    x.add_argument("--body")
    x.add_argument("--header", action="append", default=[])
    x.add_argument("--signed-body", action="store_true")
    x.add_argument("--bad-sig", action="store_true")
    x.add_argument("--length", type=int, default=-1)
    x.add_argument("--stream", action="store_true", help="send --length bytes of body as fast as taken")
    x.add_argument("--until-close", action="store_true")
    x.add_argument("--wait", type=float, default=20)
    a = p.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
