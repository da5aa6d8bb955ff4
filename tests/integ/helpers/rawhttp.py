#!/usr/bin/python3
"""Raw-socket HTTP client and TCP tricks for tests/integ/t_hardening.sh and
t_faults.sh (python3 stdlib only).

  rawhttp.py send PORT TEMPLATE [--wait S] [--out FILE] [--chunks N]
      Sends TEMPLATE (backslash escapes decoded: \\r \\n \\x00 ...) to
      127.0.0.1:PORT, reads until the peer closes or --wait seconds pass (default 6).
      Placeholders:
        {SIG}      SigV4 headers (Authorization, x-amz-date,
                   x-amz-content-sha256) for the first request line and
                   the first Host header, keys from $RAW_AKID/$RAW_SECRET,
                   region $RAW_REGION (us-east-1), payload hash
                   $RAW_PAYLOAD (UNSIGNED-PAYLOAD); $RAW_SIGHOST replaces
                   the host value signed; other x-amz-* headers of
                   the template's head are signed too
        {PAD:N}    N letters 'a'
        {HDRS:N}   N header lines "X-Pad-I: v"
      Prints one line "STATUS CLOSED SECONDS BYTES": STATUS is the first
      response's code (000: none), CLOSED 1 if the peer closed (EOF or
      reset) within --wait, SECONDS until the close (or the wait).  --out
      writes the raw bytes received.  --split S: send the first S bytes,
      pause 0.3 s, send the rest (a head arriving in two reads); --split
      head: the head, then the body.  --src
      ADDR: the local address to connect from (e.g. 127.0.0.2).

  rawhttp.py slowloris PORT --count N --seconds D [--reconnect] [--every S]
      N connections each sending a partial head, one header line every S
      (0.5) seconds, for D seconds; with --reconnect a closed one is opened
      again.  Prints "opened=.. closed=.. first=.. median=.. max=.."
      (seconds from open to close of each connection the server closed).

  rawhttp.py hold PORT --count N --seconds D [--ready FILE] [--src ADDR]
      N idle connections (nothing sent), held D seconds (or until FILE
      "stop" appears beside --ready); writes "N" to FILE once all are
      connected.  Prints "opened=.. failed=.. alive_at_end=.. err=..".

  rawhttp.py relay LISTEN_PORT TARGET_PORT --reset-after BYTES [--ready FILE]
      A TCP relay to 127.0.0.1:TARGET_PORT; a connection whose
      server-to-client bytes pass BYTES is reset (RST) on both sides.
      Logs one line per connection to stderr.

  rawhttp.py blackhole PORT [--ready FILE]
      Accepts connections on 127.0.0.1:PORT and never answers.

  rawhttp.py fakebackend PORT --log FILE [--ready FILE] [--akid KEY] [--heads FILE]
                        [--always SEGMENT]
      A keep-alive HTTP/1.1 origin on 127.0.0.1:PORT that misbehaves on
      purpose, by the last path segment of the request:
        stray-after-204   204, then 0.2 s later a second response "STRAY-204"
        body-on-204       204 followed by body bytes, in one write
        extra-after-cl    200 "mine" (Content-Length 4) and a second response
                          "STRAY-CL!" in the same write
        late-100          (Expect: 100-continue) 100 Continue after 1.5 s,
                          then reads the body and answers 200 "got N"
        eof-on-reuse      on a connection that already served a request:
                          closes without an answer (the request was acted on)
        chunked           200 with a chunked body "hello world"
        err-sig           403 SignatureDoesNotMatch as AWS S3 sends it: the
                          key id (--akid), StringToSign, SignatureProvided,
                          CanonicalRequest (Content-Length)
        err-sig-chunked   the same, chunked (the key id split over two chunks)
        err-akid-other    403 AccessDenied whose Message names the key id
        err-code-akid     403 whose <Code> is the key id
        err-large         404 NoSuchKey with a 100 KiB body (Content-Length)
        err-large-chunked the same, chunked
        err-head-akid     403 with no body whose header names the key id
        err-nosuchkey     404 NoSuchKey (Content-Length)
        err-nosuchkey-chunked  the same, chunked in three chunks
        err-sig-gzip      err-sig gzip-compressed (Content-Encoding: gzip), as a
                          backend or a proxy in front of it that compresses
                          application/xml sends it
        err-early-slow    with "Expect: 100-continue": no 100, at once a 403
                          AccessDenied (no key id) whose body's second half
                          comes 1.5 s after the first; the body is not read
        hdr-space         200 "own:PATH" with headers "X Injected: 1" and
                          "Set-Cookie : a=b" (names that are not tokens)
        hdr-empty-name    200 "own:PATH" with a header ": v"
        hdr-nul, hdr-bare-cr, hdr-bare-lf, hdr-fold
                          200 "own:PATH" whose header X-A holds a NUL, a
                          bare CR or a bare LF before "Set-Cookie: a=b",
                          or is continued by an obs-fold line " Set-Cookie"
        te-twice          200 with Transfer-Encoding: chunked twice
        status-101        101 Switching Protocols, then 200 "after-101"
        status-2digit     "HTTP/1.1 20 OK", Content-Length
        status-0          "HTTP/1.1  200 OK" (two spaces: llhttp reads 0)
        interim-many      100, 102 and 103 Early Hints (with Link) before
                          200 "own:PATH"
        cl-te             Content-Length and Transfer-Encoding: chunked
        two-cl            two Content-Length headers (4 and 9)
        cl-short-close    Content-Length 100, 10 bytes, then closes
        chunked-cut       chunked, one chunk, then closes mid-chunk
        chunked-bad-size  chunked, one chunk, then the size "zz"
        chunked-ext-trailer  chunk extensions and two trailer lines (well framed)
        trailers-endless  one chunk, the last chunk, then trailer lines
                          every 5 ms for 10 s, never the blank line
        head-endless      a response head whose header lines come every
                          0.1 s for 15 s, never ending
        head-huge         a response head of 70000 bytes (one header)
        head-many         a response head of 200 header lines
        interim-flood     "100 Continue" every 0.1 s for 15 s
        http10-eof        HTTP/1.0 200, no length, "Connection: keep-alive",
                          the body, closed 0.3 s later
        close-kept        200 "mine" with Connection: close, the connection
                          kept open (and serving)
        early-403-big     403 AccessDenied with a 60 KB body before the
                          body is read; then reads (and drops) until closed
        early-200         200 "early" before the body is read, the
                          connection kept: what of the body comes is read
                          as requests
        err-301-akid      301 whose XML body names the key id (--akid)
        not-modified-body 304 followed by body bytes, in one write
        conn-named        200 "own:PATH" whose Connection header names X-Hop
                          and ETag, both sent, and X-Kept (not named)
        no-content-cl     204 with Content-Length: 0 and X-Kept
        no-content-te     204 with Transfer-Encoding: chunked and X-Kept
      and, to a HEAD:
        head-body         200 Content-Length 4 followed by 4 body bytes
      and, to an OPTIONS (a CORS preflight s3gate passed on):
        pf-ok             200 with Access-Control-* headers and the ones a
                          backend should never have relayed (x-rgw-backend)
        pf-deny           403 with an XML body naming the backend, and in
                          the same write a second answer "STRAY-403"
        pf-nobucket       404 NoSuchBucket with its body
      anything else: 200 "own:PATH" (Content-Length).  Every request is
      logged to FILE as "conn=N METHOD PATH body=BYTES"; with --heads, each
      request head is also written to that file as it came, then "----".
      --always SEGMENT answers every request as if SEGMENT were its last
      path segment (ListBuckets' "/" too).
"""
import codecs
import gzip
import datetime
import hashlib
import hmac
import os
import re
import select
import socket
import statistics
import struct
import sys
import threading
import time
import urllib.parse


# ---- SigV4 ------------------------------------------------------------------

def _enc(s, slash):
    return urllib.parse.quote(s, safe="-_.~" + ("/" if slash else ""))


def _canon_query(q):
    if not q:
        return ""
    pairs = []
    for part in q.split("&"):
        k, _, v = part.partition("=")
        pairs.append((_enc(urllib.parse.unquote(k), False), _enc(urllib.parse.unquote(v), False)))
    pairs.sort()
    return "&".join("%s=%s" % kv for kv in pairs)


def sigv4_headers(method, target, host, akid, secret, region, payload, extra=()):
    """The SigV4 header lines for a request whose canonical URI is the raw
    path as sent (s3gate accepts the raw form and the decoded-re-encoded
    one).  EXTRA: (name, value) of further x-amz-* headers to sign."""
    return sigv4_sign(method, target, host, akid, secret, region, payload, extra)[0]


def sigv4_sign(method, target, host, akid, secret, region, payload, extra=()):
    """sigv4_headers' lines, and what signs an aws-chunked body after them:
    (lines, seed signature, signing key, amzdate, scope)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amzdate = now.strftime("%Y%m%dT%H%M%SZ")
    day = amzdate[:8]
    path, _, query = target.partition("?")
    if path.startswith("http://") or path.startswith("https://"):
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    hdrs = {"host": host.strip(), "x-amz-content-sha256": payload, "x-amz-date": amzdate}
    for n, v in extra:
        hdrs[n.lower()] = v.strip()
    names = sorted(hdrs)
    signed = ";".join(names)
    creq = "\n".join([method, path, _canon_query(query),
                      "".join("%s:%s\n" % (n, hdrs[n]) for n in names),
                      signed, payload])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode("latin-1")).hexdigest()])
    k = ("AWS4" + secret).encode()
    for m in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    lines = ("Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s\r\n"
             "x-amz-date: %s\r\nx-amz-content-sha256: %s\r\n") % (akid, scope, signed, sig, amzdate, payload)
    return lines, sig, k, amzdate, scope


def expand(template):
    raw = codecs.escape_decode(template.encode("latin-1"))[0].decode("latin-1")
    raw = re.sub(r"\{PAD:(\d+)\}", lambda m: "a" * int(m.group(1)), raw)
    raw = re.sub(r"\{HDRS:(\d+)\}",
                 lambda m: "".join("X-Pad-%d: v\r\n" % i for i in range(int(m.group(1)))), raw)
    if "{SIG}" in raw:
        line = raw.split("\r\n", 1)[0].split("\n", 1)[0]
        method, target = line.split(" ")[0], line.split(" ")[1]
        m = re.search(r"\r?\n[Hh]ost:[ \t]*([^\r\n]*)", raw)
        host = m.group(1) if m else ""
        # {SIG} stands for header lines, each ending in CRLF: "{SIG}\r\n" ends the
        # head (else a pipelined request's x-amz-* headers would be signed here)
        head = re.split(r"\r?\n\r?\n", raw.replace("{SIG}", "X-Sig: 1\r\n", 1), 1)[0]
        extra = re.findall(r"\n(x-amz-[A-Za-z0-9-]+):[ \t]*([^\r\n]*)", head, re.I)
        raw = raw.replace("{SIG}", sigv4_headers(
            method, target, os.environ.get("RAW_SIGHOST", host), os.environ["RAW_AKID"], os.environ["RAW_SECRET"],
            os.environ.get("RAW_REGION", "us-east-1"), os.environ.get("RAW_PAYLOAD", "UNSIGNED-PAYLOAD"), extra), 1)
    return raw.encode("latin-1")


# ---- send --------------------------------------------------------------------

def send_until_close(port, data, timeout=30):
    """Sends DATA on a new connection to PORT; all it gets back until the peer closes."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    s.sendall(data)
    got = bytearray()	# not bytes: += copies all so far (quadratic)
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    return bytes(got)


def cmd_send(args):
    port = int(args[0])
    data = expand(args[1])
    wait, out, split, src = 6.0, None, 0, None	# generous: a loaded CI machine is slow
    i = 2
    while i < len(args):
        if args[i] == "--src":
            src = (args[i + 1], 0); i += 2
        elif args[i] == "--wait":
            wait = float(args[i + 1]); i += 2
        elif args[i] == "--out":
            out = args[i + 1]; i += 2
        elif args[i] == "--split":
            split = args[i + 1]; i += 2
            split = data.index(b"\r\n\r\n") + 4 if split == "head" else int(split)
        else:
            sys.exit("send: unknown option " + args[i])
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=src)
    t0 = time.monotonic()
    try:
        if split:
            s.sendall(data[:split])
            time.sleep(0.3)
            s.sendall(data[split:])
        else:
            s.sendall(data)
    except OSError:
        pass	# refused while sending: what came back is read below
    got = bytearray()	# not bytes: += copies all so far (quadratic)
    closed = 0
    s.setblocking(False)
    deadline = t0 + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        try:
            b = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            closed = 1
            break
        if not b:
            closed = 1
            break
        got += b
    got = bytes(got)
    el = time.monotonic() - t0
    s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
    # the file first: the caller reads the line and then the file (with
    # PYTHONUNBUFFERED the line came out first, and a loaded machine's grep
    # read the file half written or still the last answer's)
    if out:
        with open(out, "wb") as f:
            f.write(got)
    print("%s %d %.2f %d" % (m.group(1).decode() if m else "000", closed, el, len(got)))


# ---- slowloris -----------------------------------------------------------------

def cmd_slowloris(args):
    port = int(args[0])
    count, seconds, reconnect, every = 1, 5.0, False, 0.5
    i = 1
    while i < len(args):
        a = args[i]
        if a == "--count":
            count = int(args[i + 1]); i += 2
        elif a == "--seconds":
            seconds = float(args[i + 1]); i += 2
        elif a == "--every":
            every = float(args[i + 1]); i += 2
        elif a == "--reconnect":
            reconnect = True; i += 1
        else:
            sys.exit("slowloris: unknown option " + a)
    head = b"GET /ws-slow/key HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    conns = {}	# socket -> (opened_at, lines sent)
    lifetimes = []
    opened = failed = 0

    def open_one():
        nonlocal opened, failed
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(head)
            s.setblocking(False)
            conns[s] = [time.monotonic(), 0]
            opened += 1
        except OSError:
            failed += 1

    for _ in range(count):
        open_one()
    t_end = time.monotonic() + seconds
    next_tick = time.monotonic() + every
    while time.monotonic() < t_end:
        r, _, _ = select.select(list(conns), [], [], max(0.0, min(next_tick, t_end) - time.monotonic()))
        for s in r:
            try:
                b = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                b = b""
            if b:
                continue	# a response (408?): the close follows
            lifetimes.append(time.monotonic() - conns.pop(s)[0])
            s.close()
            if reconnect:
                open_one()
        if time.monotonic() >= next_tick:
            next_tick += every
            for s, st in list(conns.items()):
                try:
                    s.send(b"X-Slow-%d: x\r\n" % st[1])
                    st[1] += 1
                except OSError:
                    pass
    for s in conns:
        s.close()
    lt = sorted(lifetimes)
    print("opened=%d failed=%d closed=%d open_at_end=%d first=%.2f median=%.2f max=%.2f" % (
        opened, failed, len(lt), len(conns), lt[0] if lt else -1,
        statistics.median(lt) if lt else -1, lt[-1] if lt else -1))


# ---- hold ------------------------------------------------------------------------

def cmd_hold(args):
    port = int(args[0])
    count, seconds, ready, src = 1, 10.0, None, None
    i = 1
    while i < len(args):
        a = args[i]
        if a == "--src":
            src = args[i + 1]; i += 2
        elif a == "--count":
            count = int(args[i + 1]); i += 2
        elif a == "--seconds":
            seconds = float(args[i + 1]); i += 2
        elif a == "--ready":
            ready = args[i + 1]; i += 2
        else:
            sys.exit("hold: unknown option " + a)
    socks, failed, err = [], 0, ""
    for _ in range(count):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            if src:
                s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            socks.append(s)
        except OSError as e:
            failed += 1
            err = str(e)
            try:
                s.close()
            except OSError:
                pass
    if ready:
        with open(ready + ".tmp", "w") as f:
            f.write("%d %d\n" % (len(socks), failed))
        os.rename(ready + ".tmp", ready)
    stop = (ready + ".stop") if ready else None
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end and not (stop and os.path.exists(stop)):
        time.sleep(0.1)
    alive = 0
    for s in socks:
        try:
            b = s.recv(1)
            if b:
                alive += 1	# something was sent: still open
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        s.close()
    print("opened=%d failed=%d alive_at_end=%d err=%s" % (len(socks), failed, alive, err.replace(" ", "_") or "-"))


# ---- listening ---------------------------------------------------------------------

def listen_on(port, ready=None):
    """A listening socket on 127.0.0.1:PORT; writes "up" to READY once it listens."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    if ready:
        with open(ready, "w") as f:
            f.write("up\n")
    return ls


# ---- relay -----------------------------------------------------------------------

def cmd_relay(args):
    lport, tport = int(args[0]), int(args[1])
    reset_after, ready = 1 << 62, None
    i = 2
    while i < len(args):
        a = args[i]
        if a == "--reset-after":
            reset_after = int(args[i + 1]); i += 2
        elif a == "--ready":
            ready = args[i + 1]; i += 2
        else:
            sys.exit("relay: unknown option " + a)
    ls = listen_on(lport, ready)
    n = 0

    def rst(s):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()

    def serve(c, cid):
        try:
            u = socket.create_connection(("127.0.0.1", tport))
        except OSError as e:
            sys.stderr.write("relay %d: upstream: %s\n" % (cid, e))
            c.close()
            return
        down = 0
        try:
            while True:
                r, _, _ = select.select([c, u], [], [])
                if c in r:
                    b = c.recv(65536)
                    if not b:
                        break
                    u.sendall(b)
                if u in r:
                    b = u.recv(65536)
                    if not b:
                        break
                    if down + len(b) > reset_after:
                        c.sendall(b[:max(0, reset_after - down)])
                        sys.stderr.write("relay %d: reset after %d bytes down\n" % (cid, reset_after))
                        rst(c)
                        rst(u)
                        return
                    c.sendall(b)
                    down += len(b)
        except OSError as e:
            sys.stderr.write("relay %d: %s\n" % (cid, e))
        sys.stderr.write("relay %d: closed after %d bytes down\n" % (cid, down))
        c.close()
        u.close()

    while True:
        c, _ = ls.accept()
        n += 1
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


# ---- blackhole -----------------------------------------------------------------

def cmd_blackhole(args):
    """Accepts connections, reads and discards, never answers."""
    ls = listen_on(int(args[0]), args[2] if len(args) > 2 and args[1] == "--ready" else None)
    socks = [ls]
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            if s is ls:
                socks.append(ls.accept()[0])
                continue
            try:
                b = s.recv(65536)
            except OSError:
                b = b""
            if not b:
                socks.remove(s)
                s.close()


# ---- fakebackend -----------------------------------------------------------------

def cmd_fakebackend(args):
    port, log, ready, akid, heads, always = int(args[0]), None, None, b"AKIDNOTGIVEN", None, None
    i = 1
    while i < len(args):
        if args[i] == "--log":
            log = args[i + 1]; i += 2
        elif args[i] == "--always":
            always = args[i + 1]; i += 2
        elif args[i] == "--heads":
            heads = args[i + 1]; i += 2
        elif args[i] == "--ready":
            ready = args[i + 1]; i += 2
        elif args[i] == "--akid":
            akid = args[i + 1].encode(); i += 2
        else:
            sys.exit("fakebackend: unknown option " + args[i])
    lock = threading.Lock()

    def note(line):
        with lock, open(log, "a") as f:
            f.write(line + "\n")

    def resp(status, body=b"", extra=""):
        return b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\n\r\n" % (
            status.encode(), extra.encode(), len(body)) + body

    def chunked(status, body, cuts):
        """STATUS with BODY in chunks cut at the offsets CUTS."""
        out, last = b"HTTP/1.1 %s\r\nContent-Type: application/xml\r\n" \
            b"Transfer-Encoding: chunked\r\n\r\n" % status.encode(), 0
        for cut in list(cuts) + [len(body)]:
            out += b"%x\r\n%s\r\n" % (cut - last, body[last:cut])
            last = cut
        return out + b"0\r\n\r\n"

    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    sig_body = (xml + b"<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
                b"calculated does not match the signature you provided. Check your key and signing "
                b"method.</Message><AWSAccessKeyId>" + akid + b"</AWSAccessKeyId><StringToSign>"
                b"AWS4-HMAC-SHA256\n20260101T000000Z\n20260101/us-east-1/s3/aws4_request\n"
                b"9f86d081884c7d65</StringToSign><SignatureProvided>5d672d79c15b13162d9279b0855cfba6"
                b"</SignatureProvided><StringToSignBytes>41 57 53 34</StringToSignBytes>"
                b"<CanonicalRequest>GET\n/b/k\n\nhost:127.0.0.1\n</CanonicalRequest>"
                b"<CanonicalRequestBytes>47 45 54</CanonicalRequestBytes><RequestId>FAKE1</RequestId>"
                b"<HostId>fakehost</HostId></Error>")
    akid_body = (xml + b"<Error><Code>AccessDenied</Code><Message>User " + akid +
                 b" is not allowed to do this</Message><RequestId>FAKE2</RequestId></Error>")

    def nosuchkey(path, pad=0):
        return (xml + b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
                + b"x" * pad + b"</Message><Key>" + path.encode() + b"</Key><RequestId>FAKE3"
                b"</RequestId><HostId>fakehost</HostId></Error>")

    def drip(c, first, line, every, seconds):
        """FIRST, then LINE every EVERY seconds for SECONDS; 0 (closed after)."""
        c.sendall(first)
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            time.sleep(every)
            c.sendall(line)
        return 0

    def send_then(c, data, then_close=0.0):
        c.sendall(data)
        if then_close:
            time.sleep(then_close)
            return 0
        return 1

    chunked_head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    # the misbehaving answers that are no more than what they send: each
    # returns 1 to serve on, 0 to close the connection
    misc = {
        "hdr-space": lambda c, p: send_then(c, resp("200 OK", b"own:" + p.encode(),
                                                    "X Injected: 1\r\nSet-Cookie : a=b\r\n")),
        "hdr-empty-name": lambda c, p: send_then(c, resp("200 OK", b"own:" + p.encode(), ": v\r\n")),
        "hdr-nul": lambda c, p: send_then(c, resp("200 OK", b"own:" + p.encode(), "X-A: 1\x00Set-Cookie: a=b\r\n")),
        "hdr-bare-cr": lambda c, p: send_then(c, resp("200 OK", b"own:" + p.encode(), "X-A: 1\rSet-Cookie: a=b\r\n")),
        "hdr-bare-lf": lambda c, p: send_then(c, resp("200 OK", b"own:" + p.encode(), "X-A: 1\nSet-Cookie: a=b\r\n")),
        "hdr-fold": lambda c, p: send_then(c, resp("200 OK", b"own:" + p.encode(), "X-A: 1\r\n Set-Cookie: a=b\r\n")),
        "te-twice": lambda c, p: send_then(c, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                           b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        "status-101": lambda c, p: send_then(c, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n"
                                             b"Connection: upgrade\r\n\r\n" + resp("200 OK", b"after-101")),
        "status-2digit": lambda c, p: send_then(c, b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\n20"),
        "status-0": lambda c, p: send_then(c, b"HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\n00"),
        "interim-many": lambda c, p: send_then(c, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
                                               b"HTTP/1.1 103 Early Hints\r\nLink: </evil>; rel=preload\r\n\r\n" +
                                               resp("200 OK", b"own:" + p.encode())),
        "cl-te": lambda c, p: send_then(c, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n"
                                        b"\r\n5\r\nSTRAY\r\n0\r\n\r\n"),
        "two-cl": lambda c, p: send_then(c, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 9\r\n\r\n"
                                         b"mineSTRAY"),
        "cl-short-close": lambda c, p: send_then(c, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", 0.3),
        "chunked-cut": lambda c, p: send_then(c, chunked_head + b"5\r\nhello\r\n40\r\nabc", 0.3),
        "chunked-bad-size": lambda c, p: send_then(c, chunked_head + b"5\r\nhello\r\nzz\r\nSTRAY\r\n0\r\n\r\n", 1.0),
        "chunked-ext-trailer": lambda c, p: send_then(c, chunked_head + b"5;a=b;c\r\nhello\r\n6;d=\"e\"\r\n world\r\n"
                                                      b"0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n"),
        "trailers-endless": lambda c, p: drip(c, chunked_head + b"5\r\nhello\r\n0\r\n",
                                              b"X-T: " + b"t" * 200 + b"\r\n", 0.005, 10),
        "head-endless": lambda c, p: drip(c, b"HTTP/1.1 200 OK\r\n", b"X-Slow: x\r\n", 0.1, 15),
        "head-huge": lambda c, p: send_then(c, b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 70000 +
                                            b"\r\nContent-Length: 0\r\n\r\n", 1.0),
        "head-many": lambda c, p: send_then(c, b"HTTP/1.1 200 OK\r\n" +
                                            b"".join(b"X-H%d: v\r\n" % i for i in range(200)) +
                                            b"Content-Length: 0\r\n\r\n", 1.0),
        "interim-flood": lambda c, p: drip(c, b"", b"HTTP/1.1 100 Continue\r\n\r\n", 0.1, 15),
        "http10-eof": lambda c, p: send_then(c, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nold:" +
                                             p.encode(), 0.3),
        "close-kept": lambda c, p: send_then(c, b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                                             b"Content-Length: 4\r\n\r\nmine"),
        "err-301-akid": lambda c, p: send_then(c, resp("301 Moved Permanently", xml + b"<Error><Code>"
                                                       b"PermanentRedirect</Code><Message>key " + akid +
                                                       b"</Message></Error>", "Content-Type: application/xml\r\n")),
        "conn-named": lambda c, p: send_then(c, resp("200 OK", b"own:" + p.encode(),
                                                     "Connection: keep-alive, X-Hop,ETag\r\nX-Hop: for-this-hop\r\n"
                                                     "ETag: \"hop-etag\"\r\nX-Kept: 1\r\n")),
        "no-content-cl": lambda c, p: send_then(c, b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-Kept: 1\r\n\r\n"),
        "no-content-te": lambda c, p: send_then(c, b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n"
                                                b"X-Kept: 1\r\n\r\n"),
        "not-modified-body": lambda c, p: send_then(c, b"HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\nSTRAY-304"),
    }

    def serve(c, cid):
        buf, served = bytearray(), 0	# not bytes: += copies all so far (quadratic)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    b = c.recv(65536)
                    if not b:
                        return
                    buf += b
                head, _, buf = buf.partition(b"\r\n\r\n")
                if heads is not None:
                    with lock, open(heads, "ab") as f:
                        f.write(head + b"\r\n----\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                method, path = line.split(" ")[0], line.split(" ")[1].split("?")[0]
                key = always or path.rsplit("/", 1)[-1]
                m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                length = int(m.group(1)) if m else 0
                expect = re.search(rb"(?i)\r\nexpect:\s*100-continue", head) is not None
                if key == "eof-on-reuse" and served > 0:
                    note("conn=%d %s %s body=0 closed-without-answer" % (cid, method, path))
                    return
                if key == "err-early-slow" and expect:
                    body = (xml + b"<Error><Code>AccessDenied</Code><Message>Access Denied"
                            b"</Message><RequestId>FAKE4</RequestId></Error>")
                    r = resp("403 Forbidden", body, "Content-Type: application/xml\r\n")
                    c.sendall(r[:len(r) - len(body) // 2])
                    time.sleep(1.5)
                    c.sendall(r[len(r) - len(body) // 2:])
                    note("conn=%d %s %s body=0 answered-early" % (cid, method, path))
                    time.sleep(0.5)
                    return
                if key == "early-403-big":
                    body = (xml + b"<Error><Code>AccessDenied</Code><Message>" + b"d" * 60000 +
                            b"</Message></Error>")
                    c.sendall(resp("403 Forbidden", body, "Content-Type: application/xml\r\n"))
                    note("conn=%d %s %s body=0 answered-early" % (cid, method, path))
                    while c.recv(1 << 20):
                        pass
                    return
                if key == "early-200":
                    c.sendall(resp("200 OK", b"early"))
                    note("conn=%d %s %s body=0 answered-early" % (cid, method, path))
                    served += 1
                    continue
                if key == "late-100" and expect:
                    time.sleep(1.5)
                    c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                while len(buf) < length:
                    b = c.recv(1 << 20)
                    if not b:
                        note("conn=%d %s %s body=%d cut" % (cid, method, path, len(buf)))
                        return
                    buf += b
                del buf[:length]
                note("conn=%d %s %s body=%d" % (cid, method, path, length))
                served += 1
                if key == "stray-after-204":
                    c.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
                    time.sleep(0.2)
                    c.sendall(resp("200 OK", b"STRAY-204"))
                elif key == "body-on-204":
                    c.sendall(b"HTTP/1.1 204 No Content\r\n\r\njunk-body-of-a-204")
                elif key == "extra-after-cl":
                    c.sendall(resp("200 OK", b"mine") + resp("200 OK", b"STRAY-CL!"))
                elif key == "late-100":
                    c.sendall(resp("200 OK", b"got %d" % length))
                elif key == "chunked":
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
                elif key == "err-sig":
                    c.sendall(resp("403 Forbidden", sig_body, "Content-Type: application/xml\r\n"))
                elif key == "err-sig-chunked":
                    at = sig_body.index(akid) + len(akid) // 2
                    c.sendall(chunked("403 Forbidden", sig_body, [100, at]))
                elif key == "err-sig-gzip":
                    c.sendall(resp("403 Forbidden", gzip.compress(sig_body),
                                   "Content-Type: application/xml\r\nContent-Encoding: gzip\r\n"))
                elif key == "err-code-akid":
                    c.sendall(resp("403 Forbidden", xml + b"<Error><Code>" + akid + b"</Code><Message>denied"
                                   b"</Message></Error>", "Content-Type: application/xml\r\n"))
                elif key == "err-akid-other":
                    c.sendall(resp("403 Forbidden", akid_body, "Content-Type: application/xml\r\n"))
                elif key == "err-large":
                    c.sendall(resp("404 Not Found", nosuchkey(path, 100 * 1024),
                                   "Content-Type: application/xml\r\n"))
                elif key == "err-large-chunked":
                    c.sendall(chunked("404 Not Found", nosuchkey(path, 100 * 1024), [30000, 60000]))
                elif key == "err-head-akid":
                    # no body (HEAD, or Content-Length: 0) but a header naming the key id
                    c.sendall(b"HTTP/1.1 403 Forbidden\r\nx-amz-error-detail: the key " + akid +
                              b" is not allowed\r\nContent-Length: 0\r\n\r\n")
                elif key == "err-nosuchkey":
                    c.sendall(resp("404 Not Found", nosuchkey(path), "Content-Type: application/xml\r\n"))
                elif key == "err-nosuchkey-chunked":
                    c.sendall(chunked("404 Not Found", nosuchkey(path), [10, 60]))
                elif method == "HEAD" and key == "head-body":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nBODY")
                elif key in misc:
                    if not misc[key](c, path):
                        return
                elif method == "OPTIONS" and key == "pf-ok":
                    c.sendall(resp("200 OK", b"", "Access-Control-Allow-Origin: https://app.example\r\n"
                                   "Access-Control-Allow-Methods: PUT\r\nx-rgw-backend: rgw-node-7\r\n"))
                elif method == "OPTIONS" and key == "pf-deny":
                    body = b"<Error><Code>AccessForbidden</Code><Message>rgw-node-7 CORSResponse</Message></Error>"
                    c.sendall(resp("403 Forbidden", body, "Content-Type: application/xml\r\n") +
                              resp("200 OK", b"STRAY-403"))
                elif method == "OPTIONS" and key == "pf-nobucket":
                    c.sendall(resp("404 Not Found", b"<Error><Code>NoSuchBucket</Code><BucketName>x"
                                   b"</BucketName></Error>", "Content-Type: application/xml\r\n"))
                elif method == "HEAD":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
                else:
                    c.sendall(resp("200 OK", b"own:" + path.encode()))
        except OSError:
            pass
        finally:
            c.close()

    ls = listen_on(port, ready)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    {"send": cmd_send, "slowloris": cmd_slowloris, "hold": cmd_hold,
     "relay": cmd_relay, "blackhole": cmd_blackhole,
     "fakebackend": cmd_fakebackend}.get(cmd, lambda a: sys.exit(__doc__))(sys.argv[2:])


if __name__ == "__main__":
    main()
