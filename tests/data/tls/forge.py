#!/usr/bin/python3
"""Hand-made aws-chunked PutObject requests over raw sockets (TLS or plain),
signed with SigV4 computed here (no SDK), for tests/integ/t_tls_payload.sh
and t_conn_state.sh.

    forge.py MODE ENDPOINT BUCKET KEY [CA_FILE]

ENDPOINT is http://HOST:PORT or https://HOST:PORT; credentials and region
come from F_AKID, F_SECRET, F_REGION.  The data is F_SIZE random bytes
(default 3 MiB + 123), sent in aws-chunks of F_CHUNK bytes (default 1 MiB);
it is written to F_DATA (a file) when set, so the caller can compare.

MODE:
  unsigned-trailer       STREAMING-UNSIGNED-PAYLOAD-TRAILER, right CRC32 trailer
  unsigned-trailer-te    the same with Transfer-Encoding: chunked (no Content-Length)
  bad-te                 unsigned-trailer-te whose last HTTP chunk ends in "XX", not CRLF
  bad-crc                ... with a wrong x-amz-checksum-crc32 trailer
  signed                 STREAMING-AWS4-HMAC-SHA256-PAYLOAD, every chunk signed
  signed-te              ... with Transfer-Encoding: chunked (no Content-Length)
  signed-bad-chunk2      ... the second chunk's signature wrong
  signed-tampered        ... right signatures, one byte of chunk 2 changed after signing
  signed-bad-final       ... the final (empty) chunk's signature wrong (with F_SIZE=0:
                         an empty body whose only chunk is bad)
  signed-cut             ... connection closed in the middle of chunk 3
  unsigned-cut           STREAMING-UNSIGNED-PAYLOAD-TRAILER cut off in chunk 3
  decoded-len-bigger     x-amz-decoded-content-length 100 more than the data
  decoded-len-smaller    x-amz-decoded-content-length 100 less than the data

F_BODY_DELAY: seconds to wait between the head and the body (default 0).
F_PIPELINE=1: a signed GET of the same key follows the body at once, in the
same write (pipelined); its answer is read after the PUT's.  F_GET_PAD=N
gives that GET a header of N more bytes (unsigned).

Prints one line: "status=NNN code=CODE" (code "-" if none), or "sent-and-closed"
for the cut modes; with F_PIPELINE then a line "get=NNN same=0|1" (same: its
body is the data put), or "get=none" if no answer came; exits 0 unless the
request could not be made at all.
"""
import base64, datetime, hashlib, hmac, os, re, socket, ssl, sys, time, urllib.parse, zlib

EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def hm(k, s):
    return hmac.new(k, s.encode() if isinstance(s, str) else s, hashlib.sha256).digest()


def signing_key(secret, date, region):
    k = hm(("AWS4" + secret).encode(), date)
    k = hm(k, region)
    k = hm(k, "s3")
    return hm(k, "aws4_request")


def main():
    mode, ep, bucket, key = sys.argv[1:5]
    ca = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
    akid, secret = os.environ["F_AKID"], os.environ["F_SECRET"]
    region = os.environ.get("F_REGION", "us-east-1")
    size = int(os.environ.get("F_SIZE", str(3 * 1048576 + 123)))
    csize = int(os.environ.get("F_CHUNK", "1048576"))
    data = os.urandom(size)
    if os.environ.get("F_DATA"):
        with open(os.environ["F_DATA"], "wb") as f:
            f.write(data)
    chunks = [data[i:i + csize] for i in range(0, len(data), csize)]

    u = urllib.parse.urlsplit(ep)
    host = u.netloc
    path = "/" + bucket + "/" + urllib.parse.quote(key, safe="/~")
    now = datetime.datetime.utcnow()
    amzdate, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = "%s/%s/s3/aws4_request" % (date, region)
    skey = signing_key(secret, date, region)

    signed = mode.startswith("signed")
    te = mode in ("unsigned-trailer-te", "signed-te", "bad-te")
    decoded_len = len(data)
    if mode == "decoded-len-bigger":
        decoded_len += 100
    elif mode == "decoded-len-smaller":
        decoded_len -= 100
    crc = zlib.crc32(data).to_bytes(4, "big")
    if mode == "bad-crc":
        crc = bytes([crc[0] ^ 0x55]) + crc[1:]
    crc_b64 = base64.b64encode(crc).decode()

    # the aws-chunked body
    body = b""
    if signed:
        sha_hdr = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        # the body's length must be known to sign the head: signatures are 64 hex
        lens = [len(c) for c in chunks] + [0]
        total = sum(len("%x" % n) + len(";chunk-signature=") + 64 + 2 + n + 2 for n in lens)
    else:
        sha_hdr = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        total = None

    headers = {
        "host": host,
        "x-amz-date": amzdate,
        "x-amz-content-sha256": sha_hdr,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(decoded_len),
    }
    if signed and not te:
        headers["content-length"] = str(total)
    elif not signed:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
        headers["x-amz-sdk-checksum-algorithm"] = "CRC32"
    names = sorted(headers)
    creq = "\n".join(["PUT", path, "", "".join("%s:%s\n" % (h, headers[h].strip()) for h in names),
                      ";".join(names), sha_hdr])
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
    seed = hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, ";".join(names), seed)

    if signed:
        prev = seed
        for i, c in enumerate(chunks + [b""]):
            csts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amzdate, scope, prev, EMPTY_SHA,
                              hashlib.sha256(c).hexdigest()])
            sig = hmac.new(skey, csts.encode(), hashlib.sha256).hexdigest()
            prev = sig
            if mode == "signed-bad-chunk2" and i == 1:
                sig = ("0" if sig[0] != "0" else "1") + sig[1:]
            if mode == "signed-bad-final" and i == len(chunks):
                sig = ("0" if sig[0] != "0" else "1") + sig[1:]
            if mode == "signed-tampered" and i == 1:
                c = bytes([c[0] ^ 1]) + c[1:]
            body += b"%x;chunk-signature=%s\r\n" % (len(c), sig.encode()) + c + b"\r\n"
        assert len(body) == total, (len(body), total)
    else:
        for c in chunks:
            body += b"%x\r\n" % len(c) + c + b"\r\n"
        body += b"0\r\nx-amz-checksum-crc32:" + crc_b64.encode() + b"\r\n\r\n"

    head = "PUT %s HTTP/1.1\r\n" % path
    for h in names:
        head += "%s: %s\r\n" % (h, headers[h])
    head += "authorization: %s\r\n" % auth
    if te:
        head += "transfer-encoding: chunked\r\n"
    elif not signed:
        head += "content-length: %d\r\n" % len(body)
    head += "\r\n"

    # F_PIPELINE: a signed GET of the same key, sent right after the body
    get = b""
    if os.environ.get("F_PIPELINE") == "1":
        gh = {"host": host, "x-amz-date": amzdate, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        gn = sorted(gh)
        gcreq = "\n".join(["GET", path, "", "".join("%s:%s\n" % (h, gh[h]) for h in gn),
                           ";".join(gn), "UNSIGNED-PAYLOAD"])
        gsts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                          hashlib.sha256(gcreq.encode()).hexdigest()])
        gsig = hmac.new(skey, gsts.encode(), hashlib.sha256).hexdigest()
        get = ("GET %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % (h, gh[h]) for h in gn) +
               "x-pad: %s\r\n" % ("p" * int(os.environ.get("F_GET_PAD", "0"))) +
               "authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s\r\n\r\n"
               % (akid, scope, ";".join(gn), gsig)).encode()

    s = socket.create_connection((u.hostname, u.port or (443 if u.scheme == "https" else 80)), timeout=30)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=ca)
        s = ctx.wrap_socket(s, server_hostname=u.hostname)
    # the body as sent: with Transfer-Encoding, in HTTP chunks of 128 KiB
    wire = body
    if te:
        wire = b""
        for i in range(0, len(body), 131072):
            part = body[i:i + 131072]
            end = b"XX" if mode == "bad-te" and i + 131072 >= len(body) else b"\r\n"
            wire += b"%x\r\n" % len(part) + part + end
        wire += b"0\r\n\r\n"
    delay = float(os.environ.get("F_BODY_DELAY", "0"))
    # a pipelining client's batch goes out in one write: a small body and
    # the GET come with the head
    one_write = get and delay == 0
    if not one_write:
        s.sendall(head.encode())
    if delay > 0:
        time.sleep(delay)

    if mode.endswith("-cut"):
        # up to the middle of the third aws-chunk, then close
        cut = 2 * (csize + 100) + csize // 2
        s.sendall(body[:cut])
        time.sleep(0.5)
        s.close()
        print("sent-and-closed %d of %d bytes" % (cut, len(body)))
        return 0

    try:
        s.sendall((head.encode() if one_write else b"") + wire + get)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError) as e:
        print("# send stopped early: %r" % e)

    # the answer(s): status line, headers, body by Content-Length
    try:
        status, hdr, rest, buf = read_answer(s, b"")
    except (socket.timeout, ConnectionResetError, ssl.SSLError) as e:
        print("status=none code=- (%r)" % e)
        return 0
    if status is None:
        print("status=none code=- (connection closed without an answer)")
        return 0
    code = re.search(rb"<Code>([^<]*)</Code>", rest)
    print("status=%s code=%s" % (status, code.group(1).decode() if code else "-"))
    print("# " + hdr.split(b"\r\n", 1)[0].decode("latin-1") + " " +
          rest[:300].decode("latin-1").replace("\n", " "))
    if get:
        try:
            gstatus, _, gbody, _ = read_answer(s, buf)
        except (socket.timeout, ConnectionResetError, ssl.SSLError):
            gstatus = None
        if gstatus is None:
            print("get=none")
        else:
            print("get=%s same=%d" % (gstatus, 1 if gbody == data else 0))
    return 0


def read_answer(s, buf):
    """One response from BUF (bytes already read) and the socket: (status
    text or None if the peer closed first, head, body, bytes read past it)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None, b"", b"", b""
        buf += d
    hdr, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", hdr)
    n = int(m.group(1)) if m else None
    while n is not None and len(rest) < n:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    if n is None:
        n = len(rest)
    status = hdr.split(b"\r\n", 1)[0].split(b" ")
    return (status[1].decode() if len(status) > 1 else "?"), hdr, rest[:n], rest[n:]


if __name__ == "__main__":
    sys.exit(main())
