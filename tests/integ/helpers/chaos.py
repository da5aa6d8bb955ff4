#!/usr/bin/python3
"""A seeded network fuzzer for s3gate's connection state machine
(proxy/conn.c), for tests/integ/t_chaos.sh; python3 stdlib only.  Signs
with rawhttp.py's SigV4 (and exhaust.py's aws-chunked bodies, sign4.py's
presigned query); keys from $RAW_AKID / $RAW_SECRET, region $RAW_REGION.

  chaos.py run --port P --bucket B [--tls-port P] [--pp-port P]
               [--seed N] (--seconds S | --iterations M | --only I)
               [--threads K] [--out DIR] [--forbid TEXT]...
      Sends a clean copy of each request of the corpus first (its status is
      what an unmutated copy must get), then per iteration (a connection)
      a choice made by random.Random(SEED, I) alone: one to four requests
      of the corpus (GET, HEAD, ranged GET, PUT with Content-Length, PUT
      with Expect: 100-continue, aws-chunked PUT, multipart create, part
      and complete, ListObjectsV2, DeleteObjects, a presigned GET, a CORS
      preflight, an unsigned GET, GET /_s3gate/access; aws-chunked with a
      CRC32 trailer, unsigned or signed, right or wrong, PUTs with a right
      or a wrong x-amz-checksum-crc32/-sha256, a presigned PUT, SigV2 in
      the head (GET, PUT) and in the query, session credentials (GET,
      PUT; $RAW_SESSION "AKID SECRET TOKEN", left out if not set),
      virtual-hosted GET, listing and PUT (Host: BUCKET.--domain),
      HTTP/1.0 GET and listing (with and without keep-alive), CopyObject,
      UploadPartCopy (a version, a range), CompleteMultipartUpload with
      300 or 3000 parts and with malformed XML, a GET with response-*
      overrides, If-None-Match (304), If-Match (412), If-Modified-Since
      on a HEAD (304), If-Range; s3gate's API: POST presign, GET
      requests, POST grants, DELETE grants and presign), pipelined, some
      mutated (bytes flipped, inserted or deleted in a head, a header
      doubled or 9000 bytes long, garbage after the body, the bytes cut
      short), delivered in pieces with short pauses or one byte at a time,
      then a FIN, an RST (SO_LINGER 0), a half-close or nothing; the answer
      read at once, slowly (a 4 KiB receive buffer) or never; over TLS
      (--tls-port) or after a PROXY v1/v2 header (--pp-port) for some.
      Oracles per connection: everything received parses as HTTP/1.1
      answers (status line, headers, Content-Length or chunked framing);
      each request before the first mutated one gets its clean status,
      and every one of them an answer unless the client cut the connection
      or an answer said Connection: close (an answer framed by the close
      must say so, and counts as whole only if a FIN, not a reset, ended
      it); the API's writes may also get 503 (SlowDown: a principal's
      fifth at once); no answer holds a --forbid text.
      Every PUT is written to DIR/puts (bucket, key, size, MD5, or
      "absent" for a wrong checksum's) for check-objects.  A failure
      prints the seed and the command that replays the iteration, and its
      bytes go to DIR/fail-SEED-I.bin (the request bytes as sent, then as
      reduced: DIR/fail-SEED-I.min.bin).  Prints "seed=N iterations=N
      failures=N conns_tls=N conns_pp=N mutated=N secs=S" last; exits 1
      on any failure.
  chaos.py found too-large|pp-refused|http10-pipelined|http10-list-pipelined PORT BUCKET
      The cases the fuzzer found, in fixed bytes, read through a 4 KiB
      buffer after a second (t_chaos.sh says what they are): exits 0 if
      every answer came whole and the close was not a reset.
  chaos.py found drain-pipelined PORT BUCKET --term PID
      A keep-alive GET of BUCKET/big (16 MiB), a pipelined head with a
      70000-byte header behind it, SIGTERM to PID (s3gate drains) while the
      answer waits on the client's 4 KiB window; then read: exits 0 if the
      answer came whole and the close was not a reset.
  chaos.py check-objects DIR/puts
      Every object a PUT named is absent or whole (size and ETag) at the
      backend (absent if its checksum was wrong), asked with the service
      key ($RGW_ENDPOINT, $RGW_ACCESS_KEY, $RGW_SECRET_KEY;
      backend_state.py's request): never cut short.
"""
import argparse
import base64
import hashlib
import os
import random
import re
import socket
import ssl
import struct
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rawhttp  # noqa: E402
import exhaust  # noqa: E402
import ppclient  # noqa: E402
import sign4  # noqa: E402

AKID = os.environ.get("RAW_AKID", "")
SECRET = os.environ.get("RAW_SECRET", "")
REGION = os.environ.get("RAW_REGION", "us-east-1")
HOST = "127.0.0.1"
ORIGIN = "https://chaos.example"


# ---- the corpus -------------------------------------------------------------------

class Req:
    """One request: its kind (the clean status is per kind), its bytes, its
    method, and for a PUT of an object, (key, size, md5) to check after."""

    def __init__(self, kind, data, method, obj=None):
        self.kind, self.data, self.method, self.obj = kind, data, method, obj
        assert data.startswith(method.encode() + b" ")
        self.head_len = data.index(b"\r\n\r\n") + 4


def signed(method, target, payload="UNSIGNED-PAYLOAD", extra=(), body=b"", other=(), host=HOST, cred=None,
           version="1.1"):
    """METHOD TARGET signed with PAYLOAD and the x-amz-* headers of EXTRA;
    OTHER: further (unsigned) header lines; BODY after the head.  HOST:
    the Host header's (and the signature's); CRED: (akid, secret, session
    token or "") if not $RAW_AKID's; VERSION: the request line's HTTP/."""
    akid, secret, token = cred or (AKID, SECRET, "")
    extra = list(extra) + ([("x-amz-security-token", token)] if token else [])
    lines = rawhttp.sigv4_headers(method, target, host, akid, secret, REGION, payload,
                                  [(n, v) for n, v in extra if n.lower().startswith("x-amz-")])
    head = "%s %s HTTP/%s\r\nHost: %s\r\n%s" % (method, target, version, host, lines)
    for n, v in extra + list(other):
        head += "%s: %s\r\n" % (n, v)
    if body or method in ("PUT", "POST"):
        head += "Content-Length: %d\r\n" % len(body)
    return (head + "\r\n").encode("latin-1") + body


def chunked_put(target, size, mode, rng, host=HOST, crc=None):
    """A PUT of SIZE bytes "x" as aws-chunked (exhaust.py's MODE: "signed",
    "trailer", "signed-trailer"; CRC: a trailer's CRC32 if not the data's)."""
    payload = {"signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "signed-trailer": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"}[mode]
    extra = [("x-amz-decoded-content-length", str(size))]
    if mode != "signed":
        extra.append(("x-amz-trailer", "x-amz-checksum-crc32"))
    extra.append(("Content-Encoding", "aws-chunked"))
    lines, sig, k, amzdate, scope = rawhttp.sigv4_sign("PUT", target, host, AKID, SECRET, REGION, payload, extra)
    body = exhaust.awschunked_body(mode, b"x" * size, rng.choice([8192, 4000]), 0, sig, k, amzdate, scope, crc)
    head = "PUT %s HTTP/1.1\r\nHost: %s\r\n%s" % (target, host, lines)
    for n, v in extra:
        head += "%s: %s\r\n" % (n, v)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode() + body


def sigv2(method, target, resource, body=b"", other=()):
    """METHOD TARGET signed with SigV2 in the head (sign4.py's), RESOURCE
    the canonical one; BODY after the head."""
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, target, HOST)
    for n, v in sign4.headers_v2(AKID, SECRET, "", method, resource, time.time(), []) + list(other):
        head += "%s: %s\r\n" % (n, v)
    if body or method in ("PUT", "POST"):
        head += "Content-Length: %d\r\n" % len(body)
    return (head + "\r\n").encode("latin-1") + body


def body_of(rng, n):
    return bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789\n") for _ in range(n))


class Corpus:
    def __init__(self, bucket, presign_query, upload_id):
        self.b, self.presign, self.upload = bucket, presign_query, upload_id
        self.kinds = [k for k in KINDS if SESSION[0] or not k.startswith("session_")]

    def make(self, kind, rng, tag):
        b = self.b
        if kind == "get":
            return Req(kind, signed("GET", "/%s/obj" % b), "GET")
        if kind == "head":
            return Req(kind, signed("HEAD", "/%s/obj" % b), "HEAD")
        if kind == "range":
            return Req(kind, signed("GET", "/%s/obj" % b, other=[("Range", "bytes=3-40")]), "GET")
        if kind in ("put", "put_expect", "put_unsigned"):
            body = body_of(rng, rng.choice([0, 1, 100, 4000, 70000]))
            key = "chaos/%s-%s" % (kind, tag)
            payload = "UNSIGNED-PAYLOAD" if kind == "put_unsigned" else hashlib.sha256(body).hexdigest()
            other = [("Expect", "100-continue")] if kind == "put_expect" else []
            return Req(kind, signed("PUT", "/%s/%s" % (b, key), payload, other=other, body=body), "PUT",
                       (key, len(body), hashlib.md5(body).hexdigest()))
        if kind == "put_chunked":
            size = rng.choice([0, 10, 9000])
            key = "chaos/chunked-%s" % tag
            return Req(kind, chunked_put("/%s/%s" % (b, key), size, "signed", rng), "PUT",
                       (key, size, hashlib.md5(b"x" * size).hexdigest()))
        if kind in ("chunked_trailer", "chunked_trailer_bad", "chunked_signed_trailer"):
            size = rng.choice([0, 10, 9000])
            key = "chaos/%s-%s" % (kind, tag)
            mode = "signed-trailer" if kind == "chunked_signed_trailer" else "trailer"
            bad = kind.endswith("_bad")
            data = chunked_put("/%s/%s" % (b, key), size, mode, rng, crc=12345 if bad else None)
            return Req(kind, data, "PUT", (key, size, ABSENT if bad else hashlib.md5(b"x" * size).hexdigest()))
        if kind in ("put_cksum", "put_cksum_bad"):
            body = body_of(rng, rng.choice([0, 100, 70000]))
            key = "chaos/%s-%s" % (kind, tag)
            alg = rng.choice(["crc32", "sha256"])
            if kind == "put_cksum_bad":
                body2 = body + b"!"
            else:
                body2 = body
            sum_ = (zlib.crc32(body2).to_bytes(4, "big") if alg == "crc32" else hashlib.sha256(body2).digest())
            data = signed("PUT", "/%s/%s" % (b, key), hashlib.sha256(body).hexdigest(),
                          extra=[("x-amz-checksum-" + alg, base64.b64encode(sum_).decode())], body=body)
            return Req(kind, data, "PUT", (key, len(body),
                                           ABSENT if kind == "put_cksum_bad" else hashlib.md5(body).hexdigest()))
        if kind == "presigned_put":
            body = body_of(rng, rng.choice([0, 100, 4000]))
            key = "chaos/presigned-put-%s" % tag
            q = sign4.presign_v4(AKID, SECRET, REGION, "", "PUT", "/%s/%s" % (b, key), HOST, "600", time.time())
            data = ("PUT /%s/%s?%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (
                b, key, q, HOST, len(body))).encode() + body
            return Req(kind, data, "PUT", (key, len(body), hashlib.md5(body).hexdigest()))
        if kind == "sigv2_get":
            return Req(kind, sigv2("GET", "/%s/obj" % b, "/%s/obj" % b), "GET")
        if kind == "sigv2_put":
            body = body_of(rng, rng.choice([0, 100, 4000]))
            key = "chaos/sigv2-%s" % tag
            return Req(kind, sigv2("PUT", "/%s/%s" % (b, key), "/%s/%s" % (b, key), body=body), "PUT",
                       (key, len(body), hashlib.md5(body).hexdigest()))
        if kind == "sigv2_query":
            q = sign4.presign_v2(AKID, SECRET, "", "GET", "/%s/obj" % b, int(time.time()) + 600)
            return Req(kind, ("GET /%s/obj?%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (b, q, HOST)).encode(), "GET")
        if kind == "session_get":
            return Req(kind, signed("GET", "/%s/obj" % b, cred=SESSION), "GET")
        if kind == "session_put":
            body = body_of(rng, rng.choice([0, 100, 4000]))
            key = "chaos/session-%s" % tag
            return Req(kind, signed("PUT", "/%s/%s" % (b, key), hashlib.sha256(body).hexdigest(), body=body,
                                    cred=SESSION), "PUT", (key, len(body), hashlib.md5(body).hexdigest()))
        if kind == "vhost_get":
            return Req(kind, signed("GET", "/obj", host="%s.%s" % (b, self.domain)), "GET")
        if kind == "vhost_list":
            return Req(kind, signed("GET", "/?list-type=2&max-keys=2", host="%s.%s" % (b, self.domain)), "GET")
        if kind == "vhost_put":
            body = body_of(rng, rng.choice([0, 100, 4000]))
            key = "chaos/vhost-%s" % tag
            return Req(kind, signed("PUT", "/" + key, hashlib.sha256(body).hexdigest(), body=body,
                                    host="%s.%s" % (b, self.domain)), "PUT",
                       (key, len(body), hashlib.md5(body).hexdigest()))
        if kind == "http10":
            return Req(kind, signed("GET", "/%s/obj" % b, version="1.0"), "GET")
        if kind == "http10_keepalive":
            return Req(kind, signed("GET", "/%s/obj" % b, version="1.0", other=[("Connection", "keep-alive")]), "GET")
        if kind == "http10_list":
            return Req(kind, signed("GET", "/%s?list-type=2&max-keys=3" % b, version="1.0",
                                    other=[("Connection", "keep-alive")]), "GET")
        if kind == "copy":
            key = "chaos/copy-%s" % tag
            return Req(kind, signed("PUT", "/%s/%s" % (b, key), extra=[("x-amz-copy-source", "/%s/obj" % b)]),
                       "PUT", (key, self.obj_size, self.obj_md5))
        if kind == "copy_part":
            return Req(kind, signed("PUT", "/%s/chaos/mpu-part?partNumber=2&uploadId=%s" % (b, self.upload),
                                    extra=[("x-amz-copy-source", "/%s/obj?versionId=null" % b),
                                           ("x-amz-copy-source-range", "bytes=0-99")]), "PUT")
        if kind in ("mpu_complete_large", "mpu_complete_bad"):
            if kind == "mpu_complete_bad":
                xml = rng.choice([b"<CompleteMultipartUpload><Part><PartNumber>1</Part",
                                  b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part>"
                                  b"</CompleteMultipartUpload>", b"\xff\xfe<", b"<a>" * 300])
            else:
                xml = b"<CompleteMultipartUpload>" + b"".join(
                    b"<Part><PartNumber>%d</PartNumber><ETag>\"%032x\"</ETag></Part>" % (n, n)
                    for n in range(1, rng.choice([300, 3000]))) + b"</CompleteMultipartUpload>"
            # parts that were never uploaded (400 InvalidPart), to an upload
            # of its own: two completions of one upload at once, RGW answers
            # the second 500 "This multipart completion is already in
            # progress" (seed 16, iteration 3524)
            up = self.upload if kind == "mpu_complete_bad" else self.create_upload("chaos/mpu-large-%s" % tag)
            return Req(kind, signed("POST", "/%s/chaos/mpu-%s?uploadId=%s" % (
                b, "part" if kind == "mpu_complete_bad" else "large-" + tag, up),
                hashlib.sha256(xml).hexdigest(), body=xml), "POST")
        if kind == "get_override":
            return Req(kind, signed("GET", "/%s/obj?response-content-type=text%%2Fplain&response-cache-control="
                                    "no-cache&response-content-disposition=attachment%%3B%%20filename%%3D%%22x.txt"
                                    "%%22" % b), "GET")
        if kind == "if_none_match":
            return Req(kind, signed("GET", "/%s/obj" % b, other=[("If-None-Match", '"%s"' % self.obj_md5)]), "GET")
        if kind == "if_match_bad":
            return Req(kind, signed("GET", "/%s/obj" % b, other=[("If-Match", '"%032x"' % 7)]), "GET")
        if kind == "head_if_modified":
            return Req(kind, signed("HEAD", "/%s/obj" % b, other=[("If-Modified-Since",
                                                                    "Fri, 01 Jan 2100 00:00:00 GMT")]), "HEAD")
        if kind == "if_range":
            return Req(kind, signed("GET", "/%s/obj" % b, other=[("Range", "bytes=10-19"),
                                                                  ("If-Range", '"%s"' % self.obj_md5)]), "GET")
        if kind.startswith("api_"):
            data = self.api(kind, tag)
            return Req(kind, data, data.split(b" ", 1)[0].decode())
        if kind == "mpu_create":
            return Req(kind, signed("POST", "/%s/chaos/mpu-%s?uploads" % (b, tag)), "POST")
        if kind == "mpu_part":
            body = body_of(rng, rng.choice([1, 5000]))
            return Req(kind, signed("PUT", "/%s/chaos/mpu-part?partNumber=1&uploadId=%s" % (b, self.upload),
                                    hashlib.sha256(body).hexdigest(), body=body), "PUT")
        if kind == "mpu_complete":
            key, size, md5, xml = self.fresh_upload(rng, tag)
            return Req(kind, xml, "POST", (key, size, md5))
        if kind == "list":
            return Req(kind, signed("GET", "/%s?list-type=2&max-keys=3&prefix=obj" % b), "GET")
        if kind == "delete_objects":
            xml = ("<Delete><Object><Key>chaos/del-%s</Key></Object><Quiet>true</Quiet></Delete>" % tag).encode()
            md5 = base64.b64encode(hashlib.md5(xml).digest()).decode()
            return Req(kind, signed("POST", "/%s?delete" % b, hashlib.sha256(xml).hexdigest(),
                                    other=[("Content-MD5", md5)], body=xml), "POST")
        if kind == "presigned":
            return Req(kind, ("GET /%s/obj?%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (b, self.presign, HOST)).encode(), "GET")
        if kind == "preflight":
            return Req(kind, ("OPTIONS /%s/obj HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n"
                              "Access-Control-Request-Method: PUT\r\n\r\n" % (b, HOST, ORIGIN)).encode(), "OPTIONS")
        if kind == "unsigned":
            return Req(kind, ("GET /%s/obj HTTP/1.1\r\nHost: %s\r\nUser-Agent: chaos\r\n\r\n" % (b, HOST)).encode(),
                       "GET")
        if kind == "selfservice":
            return Req(kind, signed("GET", "/_s3gate/access"), "GET")
        raise ValueError(kind)

    def api(self, kind, tag):
        """A call of s3gate's own API (/_s3gate/...): a link for obj (a
        minute long), the grant requests, a grant (the same each time), the
        revocation of one never made, the revocation of a link that is not."""
        if kind == "api_requests":
            return signed("GET", "/_s3gate/requests")
        if kind == "api_revoke":
            return signed("DELETE", "/_s3gate/grants/%s/chaos-nobody" % self.b)
        if kind == "api_unpresign":
            return signed("DELETE", "/_s3gate/presign/chaos-%s" % tag)
        body = {"api_presign": '{"bucket":"%s","key":"obj","method":"GET","expires":"1m"}' % self.b,
                "api_grant": '{"bucket":"%s","principal":"chaos-grantee","permission":"ReadOnly"}' % self.b}[kind]
        body = body.encode()
        return signed("POST", "/_s3gate/%s" % kind[4:].replace("grant", "grants"),
                      hashlib.sha256(body).hexdigest(), body=body)

    def create_upload(self, key):
        """A multipart upload of KEY made (cleanly): its id."""
        st, _, body = clean_send(self.port, signed("POST", "/%s/%s?uploads" % (self.b, key)), "POST")
        m = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
        if st != 200 or not m:
            raise RuntimeError("a clean CreateMultipartUpload: %s %r" % (st, body[:200]))
        return m.group(1).decode()

    def fresh_upload(self, rng, tag):
        """A multipart upload made (cleanly) with one part; its complete request."""
        key = "chaos/mpu-%s" % tag
        up = self.create_upload(key)
        part = body_of(rng, 3000)
        st, hdrs, _ = clean_send(self.port, signed("PUT", "/%s/%s?partNumber=1&uploadId=%s" % (self.b, key, up),
                                                   hashlib.sha256(part).hexdigest(), body=part), "PUT")
        etag = hdrs.get("etag", "")
        if st != 200 or not etag:
            raise RuntimeError("a clean UploadPart: %s" % st)
        xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
               "</CompleteMultipartUpload>" % etag).encode()
        md5 = hashlib.md5(hashlib.md5(part).digest()).hexdigest() + "-1"
        return key, len(part), md5, signed("POST", "/%s/%s?uploadId=%s" % (self.b, key, up),
                                           hashlib.sha256(xml).hexdigest(), body=xml)


KINDS = ["get", "head", "range", "put", "put_expect", "put_unsigned", "put_chunked", "mpu_create",
         "mpu_part", "mpu_complete", "list", "delete_objects", "presigned", "preflight", "unsigned",
         "selfservice",
         "chunked_trailer", "chunked_trailer_bad", "chunked_signed_trailer", "put_cksum", "put_cksum_bad",
         "presigned_put", "sigv2_get", "sigv2_put", "sigv2_query", "session_get", "session_put",
         "vhost_get", "vhost_list", "vhost_put", "http10", "http10_keepalive", "http10_list", "copy",
         "copy_part", "mpu_complete_large", "mpu_complete_bad", "get_override", "if_none_match",
         "if_match_bad", "head_if_modified", "if_range", "api_presign", "api_requests", "api_grant",
         "api_revoke", "api_unpresign"]
# the kinds whose clean status may also be 503 SlowDown: s3gate's API's
# writes, at most 4 of a principal's at once (README.md)
# the PUTs whose body nothing signs
UNSIGNED_BODY = {"put_unsigned", "presigned_put", "sigv2_put"}
MAY_SLOW_DOWN = {"api_presign", "api_grant", "api_revoke", "api_unpresign"}
# a PUT's "md5" for an object that must not be stored (a wrong checksum)
ABSENT = "absent"
# the session credentials (akid, secret, token): $RAW_SESSION "AKID SECRET TOKEN"
SESSION = tuple((os.environ.get("RAW_SESSION", "") + "  ").split(" ")[:3])


# ---- answers -----------------------------------------------------------------------

class BadAnswer(Exception):
    pass


def parse_one(buf, pos, nobody, eof=False):
    """The answer at POS: (status, headers, end) or None if it is not all
    there yet; BadAnswer if it is not an HTTP/1.1 answer.  NOBODY: the
    request was a HEAD.  EOF: BUF ends where the connection closed (the
    end of an answer framed by the close, as to an HTTP/1.0 request's
    chunked one, which must say Connection: close)."""
    m = re.compile(rb"HTTP/1\.1 ([1-5][0-9][0-9]) [^\r\n]*\r\n").match(buf, pos)
    if not m:
        if len(buf) - pos < 16 and b"HTTP/1.1 "[:len(buf) - pos] == buf[pos:pos + 9]:
            return None
        raise BadAnswer("no status line at %d: %r" % (pos, buf[pos:pos + 60]))
    status = int(m.group(1))
    end = buf.find(b"\r\n\r\n", m.end() - 2)
    if end < 0:
        return None
    hdrs, cls = {}, []
    for line in buf[m.end():end].split(b"\r\n") if end > m.end() else []:
        hm = re.match(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*$", line)
        if not hm:
            raise BadAnswer("a bad header line %r" % line[:80])
        n = hm.group(1).decode().lower()
        hdrs[n] = hm.group(2).decode("latin-1")
        if n == "content-length":
            cls.append(hm.group(2))
    p = end + 4
    if status < 200 or status in (204, 304) or nobody:
        return status, hdrs, p
    te = hdrs.get("transfer-encoding", "").lower()
    if te and cls:
        raise BadAnswer("both Transfer-Encoding and Content-Length")
    if te:
        if te != "chunked":
            raise BadAnswer("Transfer-Encoding %r" % te)
        while True:
            e = buf.find(b"\r\n", p)
            if e < 0:
                return None
            cm = re.match(rb"([0-9a-fA-F]+)(;[^\r\n]*)?$", buf[p:e])
            if not cm:
                raise BadAnswer("a bad chunk line %r" % buf[p:e][:40])
            n = int(cm.group(1), 16)
            if n == 0:
                t = buf.find(b"\r\n\r\n", e)
                if buf[e:e + 4] == b"\r\n\r\n":
                    return status, hdrs, e + 4
                if t < 0:
                    return None
                return status, hdrs, t + 4
            if len(buf) < e + 2 + n + 2:
                return None
            if buf[e + 2 + n:e + 4 + n] != b"\r\n":
                raise BadAnswer("a chunk not followed by CRLF")
            p = e + 4 + n
    if len(set(cls)) > 1:
        raise BadAnswer("Content-Length values differ: %r" % cls)
    if not cls:
        if hdrs.get("connection", "").lower() != "close":
            raise BadAnswer("a %d answer without framing (no Content-Length, not chunked, no "
                            "Connection: close)" % status)
        return (status, hdrs, len(buf)) if eof else None
    if not cls[0].isdigit():
        raise BadAnswer("Content-Length %r" % cls[0])
    n = int(cls[0])
    if len(buf) < p + n:
        return None
    return status, hdrs, p + n


def parse_all(buf, heads, eof=False):
    """The final answers in BUF: [(status, headers)], whether an answer was
    left unfinished.  HEADS: per final answer, True (a HEAD's: no body),
    False, or None (not known: a mutated request's; either reading that
    leaves the rest parseable).  BadAnswer if the bytes are not answers."""
    def rec(pos, i):
        if pos >= len(buf):
            return [], False
        h = heads[i] if i < len(heads) else None
        err, first = None, None
        for nobody in ([h] if h is not None else [False, True]):
            try:
                r = parse_one(buf, pos, nobody, eof)
                if r is None:
                    res = [], True
                else:
                    status, hdrs, end = r
                    rest, cut = rec(end, i + (status >= 200))
                    res = [(status, hdrs)] * (status >= 200) + rest, cut
            except BadAnswer as e:
                err = e
                continue
            if not res[1]:
                return res	# the rest parses whole
            first = first or res
        if first:
            return first
        raise err
    sys.setrecursionlimit(10000)
    return rec(0, 0)


# ---- sending ---------------------------------------------------------------------

def connect(port, tls=False, pp=None, rcvbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(10)
    s.connect((HOST, port))
    if pp:
        s.sendall(pp)
    raw = s		# the socket to set SO_LINGER on and shut down
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = raw = ctx.wrap_socket(s, server_hostname="localhost")
    return s, raw


def read_until(s, deadline, enough=None, slow=False, eager=False):
    """What comes until the peer closes, DEADLINE (monotonic) passes, or
    ENOUGH(bytes, quiet half-seconds since the last bytes) says so (asked
    after each quiet half-second; EAGER: after each read too);
    (bytes, closed): closed False, "eof" (a FIN) or "reset" (an error)."""
    got, quiet = b"", 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return got, False
        s.settimeout(min(left, 0.5) if enough else left)
        try:
            d = s.recv(512 if slow else 65536)
        except socket.timeout:
            quiet += 1
            if enough and enough(got, quiet):
                return got, False
            continue
        except (OSError, ssl.SSLError):
            return got, "reset"
        if not d:
            return got, "eof"
        got += d
        quiet = 0
        if eager and enough(got, quiet):
            return got, False
        if slow:
            time.sleep(0.002)


def clean_send(port, data, method, tls_port=None):
    """One request on a connection of its own, sent whole: (status, headers, body)."""
    s, _ = connect(tls_port or port, tls=bool(tls_port))
    s.sendall(data)

    def done(got, quiet):
        try:
            ans, cut = parse_all(got, [method == "HEAD"])
            return ans and not cut
        except BadAnswer:
            return True
    got, closed = read_until(s, time.monotonic() + 30, done, eager=True)
    s.close()
    ans, _ = parse_all(got, [method == "HEAD"], closed == "eof")
    if not ans:
        return 0, {}, got
    hend = got.rfind(b"HTTP/1.1 ")
    body = got[got.find(b"\r\n\r\n", hend) + 4:]
    return ans[0][0], ans[0][1], body


# ---- one iteration ------------------------------------------------------------------

def mutate_head(rng, data, head_len):
    """One change to a request's head (never its body): (bytes, what)."""
    what = rng.choice(["flip", "insert", "delete", "dup", "oversize", "crlf"])
    head, body = data[:head_len], data[head_len:]
    p = rng.randrange(0, head_len - 2)
    if what == "flip":
        head = head[:p] + bytes([head[p] ^ (1 << rng.randrange(8))]) + head[p + 1:]
    elif what == "insert":
        head = head[:p] + bytes(rng.choice([0, 9, 10, 13, 32, 58, 127, 255, rng.randrange(256)])
                                for _ in range(rng.randint(1, 3))) + head[p:]
    elif what == "delete":
        head = head[:p] + head[p + rng.randint(1, 4):]
    elif what == "crlf":
        head = head[:p] + rng.choice([b"\r\n", b"\n", b"\r", b"\r\n\r\n"]) + head[p:]
    else:
        lines = head[:-4].split(b"\r\n")
        i = rng.randrange(1, len(lines))
        if what == "dup":
            lines.insert(i, lines[i])
        else:
            lines.insert(i, b"X-Chaos-Pad: " + b"p" * rng.choice([9000, 17000, 70000]))
        head = b"\r\n".join(lines) + b"\r\n\r\n"
    return head + body, what


class Plan:
    """An iteration's connection, made from random.Random(SEED, I) alone."""

    def __init__(self, seed, i, corpus, tls_port, pp_port):
        rng = random.Random("%d/%d" % (seed, i))
        self.rng = rng
        n = rng.choice([1, 1, 1, 2, 2, 3, 4])
        self.reqs = [corpus.make(rng.choice(corpus.kinds), rng, "%d-%d-%d" % (seed, i, j)) for j in range(n)]
        self.first_mut = n		# index of the first mutated request
        self.what = []
        parts = []
        for j, r in enumerate(self.reqs):
            data = r.data
            if rng.random() < 0.35:
                data, w = mutate_head(rng, data, r.head_len)
                self.what.append("req%d %s %s" % (j, r.kind, w))
                self.first_mut = min(self.first_mut, j)
                if r.kind in UNSIGNED_BODY or (r.obj and r.obj[2] == ABSENT):
                    # its Content-Length is signed by nothing: a flip from
                    # 4000 to "400 " stores the 400 bytes sent as a whole
                    # object (seed 5, iteration 2736); a signed payload's
                    # SHA-256 leaves only the object sent or none.  An
                    # object that must stay absent (a wrong checksum) may
                    # be stored once its checksum header is mangled
                    r.obj = None
            parts.append(data)
        self.wire = b"".join(parts)
        self.ends = []			# where each request ends in wire
        p = 0
        for d in parts:
            p += len(d)
            self.ends.append(p)
        tail = rng.random()
        self.cut = None
        if tail < 0.1:
            self.wire += rng.choice([b"GARBAGE\r\n\r\n", b"\x16\x03\x01\x00\x05hello", b"\r\n" * 3,
                                     bytes(rng.randrange(256) for _ in range(40))])
            self.what.append("garbage after")
        elif tail < 0.3:
            self.cut = rng.randrange(1, len(self.wire))
            self.wire = self.wire[:self.cut]
            self.what.append("cut at %d" % self.cut)
            k = 0
            while k < len(self.ends) and self.ends[k] <= self.cut:
                k += 1
            self.first_mut = min(self.first_mut, k)
        # delivery: pieces and pauses (at most ~0.6 s of pauses in all, well
        # within the proxy's head and body timeouts)
        self.pieces = []
        mode = rng.choice(["whole", "whole", "split", "split", "drip"])
        if mode == "whole":
            self.pieces = [(self.wire, 0)]
        elif mode == "split":
            pts = sorted(set(rng.randrange(1, max(2, len(self.wire))) for _ in range(rng.randint(1, 8))))
            last = 0
            for q in pts + [len(self.wire)]:
                if q > last:
                    self.pieces.append((self.wire[last:q], rng.choice([0, 0, 0.001, 0.01, 0.05])))
                last = q
        else:
            # the head(s) a few bytes at a time (up to 300 pieces), the rest whole
            step = max(1, min(len(self.wire), 4000) // 300 + rng.randint(0, 3))
            lim = min(len(self.wire), 4000)
            for q in range(0, lim, step):
                self.pieces.append((self.wire[q:min(q + step, lim)], 0.002))
            if lim < len(self.wire):
                self.pieces.append((self.wire[lim:], 0))
        assert b"".join(d for d, _ in self.pieces) == self.wire
        self.mode = mode
        self.end = rng.choice(["keep", "keep", "keep", "fin", "rst", "halfclose"])
        self.read = rng.choice(["normal", "normal", "normal", "slow", "none"])
        self.tls = bool(tls_port) and rng.random() < 0.2
        self.pp = None
        if pp_port and not self.tls and rng.random() < 0.15:
            if rng.random() < 0.5:
                src = "10.9.%d.%d" % (rng.randrange(256), rng.randrange(1, 255))
                self.pp = ppclient.header({"v1": src}, pp_port)
            else:
                self.pp = ppclient.header({"v2": "10.9.%d.7" % rng.randrange(256)}, pp_port)
        if self.tls and self.end == "halfclose":
            self.end = "fin"
        self.port = tls_port if self.tls else (pp_port if self.pp else None)

    def describe(self):
        return ("kinds=%s mutations=[%s] delivery=%s pieces=%d end=%s read=%s tls=%s pp=%s" % (
            ",".join(r.kind for r in self.reqs), "; ".join(self.what) or "none", self.mode, len(self.pieces),
            self.end, self.read, self.tls, "v1" if self.pp and self.pp[:5] == b"PROXY" else ("v2" if self.pp else "no")))


def hang_up(s, raw, how):
    """Ends the connection: "rst" (SO_LINGER 0, then close), "fin" (a
    shutdown both ways, then close), "halfclose" (our side only; S kept)."""
    try:
        if how == "rst":
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            raw.shutdown(socket.SHUT_WR if how == "halfclose" else socket.SHUT_RDWR)
    except OSError:
        pass
    if how != "halfclose":
        s.close()


def run_plan(plan, port, expected, forbid, head_timeout):
    """Carries PLAN out: a list of what failed (empty: every oracle held)."""
    fails = []
    s, raw = connect(plan.port or port, plan.tls, plan.pp, 4096 if plan.read == "slow" else 0)
    sent_all = True
    try:
        for data, pause in plan.pieces:
            s.sendall(data)
            if pause:
                time.sleep(pause)
    except (OSError, ssl.SSLError):
        sent_all = False		# refused part way (a 4xx and the close): read what came
    if plan.end in ("rst", "fin"):
        hang_up(s, raw, plan.end)
        return fails
    if plan.end == "halfclose":
        hang_up(s, raw, "halfclose")
    if plan.read == "none":
        time.sleep(plan.rng.choice([0, 0.05, 0.3]))
        hang_up(s, raw, "rst")
        return fails
    heads = [r.method == "HEAD" if j < plan.first_mut else None for j, r in enumerate(plan.reqs)]
    want = plan.first_mut

    def enough(got, quiet):
        # every answer owed came; after a mutated request (which may be
        # answered, or not), once nothing more came for a second
        try:
            ans, cut = parse_all(got, heads)
        except BadAnswer:
            return True
        if cut:
            return False
        if any(h.get("connection", "").lower() == "close" for _, h in ans):
            return False	# the close follows
        if want == len(plan.reqs):
            return len(ans) >= want
        return len(ans) >= want and quiet >= 2 and plan.cut is None
    # a cut request is answered at head_timeout or body_timeout (+ a margin)
    deadline = time.monotonic() + (head_timeout + 6 if plan.cut is not None else 20)
    got, closed = read_until(s, deadline, enough, plan.read == "slow")
    s.close()
    plan.got = got
    for f in forbid:
        if f and f.encode() in got:
            fails.append("an answer holds a forbidden text (%s...)" % f[:4])
    try:
        ans, cut = parse_all(got, heads, closed == "eof")
    except BadAnswer as e:
        fails.append("not HTTP/1.1 answers: %s" % e)
        return fails
    owed = want
    for j, (st, h) in enumerate(ans[:want]):
        exp = expected[plan.reqs[j].kind]
        if st != exp and not (st == 503 and plan.reqs[j].kind in MAY_SLOW_DOWN):
            fails.append("req%d (%s, unmutated) answered %d, clean %d" % (j, plan.reqs[j].kind, st, exp))
        if h.get("connection", "").lower() == "close":
            owed = j + 1
            break
    if cut and closed and plan.cut is None and sent_all and plan.end == "keep":
        fails.append("an answer cut short by the close (%d answers whole)" % len(ans))
    if len(ans) < owed and plan.end == "keep" and sent_all:
        fails.append("%d unmutated requests, %d answers (closed=%s)" % (owed, len(ans), closed))
    return fails


def replay(port, tls_port, plan_like, expected, forbid, head_timeout):
    try:
        return run_plan(plan_like, port, expected, forbid, head_timeout)
    except (OSError, ssl.SSLError) as e:
        return ["connect: %s" % e]


def reduce(plan, port, expected, forbid, head_timeout):
    """A smaller PLAN that still fails: pauses dropped, then requests from
    the end, then those before the first mutated one (a few tries)."""
    import copy
    best = plan
    tries = 0
    def attempt(p):
        nonlocal tries
        tries += 1
        return replay(port, None, p, expected, forbid, head_timeout)
    p = copy.copy(plan)
    p.pieces = [(plan.wire, 0)]
    if attempt(p):
        best = p
    while len(best.reqs) > 1 and tries < 8:
        p = copy.copy(best)
        p.reqs = best.reqs[:-1]
        p.ends = best.ends[:-1]
        p.wire = best.wire[:best.ends[-2]]
        p.first_mut = min(best.first_mut, len(p.reqs))
        p.cut = None
        p.pieces = [(p.wire, 0)]
        if attempt(p):
            best = p
        else:
            break
    return best


def cmd_run(a):
    global AKID, SECRET
    out = a.out or "."
    os.makedirs(out, exist_ok=True)
    head_timeout = a.head_timeout
    # the presigned GET (sign4.py), an upload for the parts
    presign = sign4.presign_v4(AKID, SECRET, REGION, "", "GET", "/%s/obj" % a.bucket, HOST, "3600", time.time())
    corpus = Corpus(a.bucket, presign, "")
    corpus.port = a.port
    corpus.domain = a.domain
    st, hdrs, _ = clean_send(a.port, signed("HEAD", "/%s/obj" % a.bucket), "HEAD")
    if st != 200:
        sys.exit("setup: HEAD %s/obj answered %s" % (a.bucket, st))
    corpus.obj_size, corpus.obj_md5 = int(hdrs["content-length"]), hdrs["etag"].strip('"')
    try:
        corpus.upload = corpus.create_upload("chaos/mpu-part")
    except RuntimeError as e:
        sys.exit("setup: %s" % e)
    puts = open(os.path.join(out, "puts"), "a")
    lock = threading.Lock()
    # the clean statuses
    expected = {}
    t0 = time.monotonic()
    rng0 = random.Random("clean/%d" % a.seed)
    for k in corpus.kinds:
        r = corpus.make(k, rng0, "clean-%d" % a.seed)
        try:
            st, _, body = clean_send(a.port, r.data, r.method)
        except BadAnswer as e:
            sys.exit("setup: a clean %s: %s" % (k, e))
        if st == 0 or st >= 500:
            sys.exit("setup: a clean %s answered %s: %r" % (k, st, body[:300]))
        expected[k] = st
    print("# clean statuses (%.1f s): " % (time.monotonic() - t0) +
          " ".join("%s=%d" % kv for kv in sorted(expected.items())))
    sys.stdout.flush()
    stats = {"iterations": 0, "failures": 0, "conns_tls": 0, "conns_pp": 0, "mutated": 0}
    t_end = time.monotonic() + a.seconds if a.seconds else None
    todo = [a.only] if a.only is not None else None
    nxt = [0]

    def take():
        with lock:
            if todo is not None:
                return todo.pop() if todo else None
            if t_end is not None and time.monotonic() >= t_end:
                return None
            if a.iterations is not None and nxt[0] >= a.iterations:
                return None
            i = nxt[0]
            nxt[0] += 1
            return i

    def worker():
        while True:
            i = take()
            if i is None:
                return
            try:
                plan = Plan(a.seed, i, corpus, a.tls_port, a.pp_port)
            except (OSError, RuntimeError, ssl.SSLError) as e:
                plan = None
                fails = ["making the requests: %s" % e]
            if plan is not None:
                with lock:
                    for r in plan.reqs:
                        if r.obj:
                            puts.write("%s %s %d %s\n" % (a.bucket, r.obj[0], r.obj[1], r.obj[2]))
                    puts.flush()
                try:
                    fails = run_plan(plan, a.port, expected, a.forbid, head_timeout)
                except (OSError, ssl.SSLError) as e:
                    fails = ["connect or send: %s" % e]
            with lock:
                stats["iterations"] += 1
                if plan is not None:
                    stats["conns_tls"] += plan.tls
                    stats["conns_pp"] += plan.pp is not None
                    stats["mutated"] += plan.first_mut < len(plan.reqs)
            if not fails:
                continue
            with lock:
                stats["failures"] += 1
            name = os.path.join(out, "fail-%d-%d" % (a.seed, i))
            msg = ["FAIL seed=%d iteration=%d: %s" % (a.seed, i, "; ".join(fails))]
            if plan is not None:
                msg.append("  plan: " + plan.describe())
                with open(name + ".bin", "wb") as f:
                    f.write(plan.wire)
                with open(name + ".got", "wb") as f:
                    f.write(getattr(plan, "got", b""))
                if not plan.tls and not plan.pp:
                    small = reduce(plan, a.port, expected, a.forbid, head_timeout)
                    with open(name + ".min.bin", "wb") as f:
                        f.write(small.wire)
                    msg.append("  bytes: %s.bin (%d), reduced: %s.min.bin (%d)" % (
                        name, len(plan.wire), name, len(small.wire)))
            msg.append("  replay: %s" % repro(a, i))
            with lock:
                print("\n".join(msg))
                sys.stdout.flush()

    ts = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    puts.close()
    print("seed=%d iterations=%d failures=%d conns_tls=%d conns_pp=%d mutated=%d secs=%.1f" % (
        a.seed, stats["iterations"], stats["failures"], stats["conns_tls"], stats["conns_pp"], stats["mutated"],
        time.monotonic() - t0))
    if stats["failures"]:
        print("# replay all: %s" % repro(a, None, stats["iterations"]))
    return 1 if stats["failures"] else 0


def repro(a, only, iterations=None):
    args = [sys.argv[0], "run", "--port", str(a.port), "--bucket", a.bucket, "--seed", str(a.seed)]
    if a.tls_port:
        args += ["--tls-port", str(a.tls_port)]
    if a.pp_port:
        args += ["--pp-port", str(a.pp_port)]
    args += ["--only", str(only)] if only is not None else ["--iterations", str(iterations)]
    return "RAW_AKID=... RAW_SECRET=... " + " ".join(args)


# ---- the cases found, in fixed bytes ------------------------------------------------

def read_to_close(s, step):
    """What S brings until its close (or 20 s of silence), STEP bytes a
    read; closes it: (the bytes, what went wrong reading or "-")."""
    got, err = bytearray(), "-"  # not bytes: += copies all so far, 16 s for 16 MiB
    s.settimeout(20)
    try:
        while True:
            d = s.recv(step)
            if not d:
                break
            got += d
    except OSError as e:
        err = str(e)
    s.close()
    return bytes(got), err


def late_read(port, pp, data, keep=None):
    """DATA on a connection (receive buffer 4 KiB) after PP; read after a
    second (s3gate has answered and closed meanwhile, if it was to):
    (statuses, what went wrong reading or "-"); the bytes read are
    appended to the list KEEP."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((HOST, port))
    try:
        if pp:
            s.sendall(pp)
        s.sendall(data)
    except OSError as e:
        print("send:", e)
    time.sleep(1)	# if s3gate is slower than that: no harm, the check passes
    got, err = read_to_close(s, 512)
    if keep is not None:
        keep.append(got)
    st = [x.decode() for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", got)]
    print(len(got), "bytes,", len(st), "answers:", " ".join(sorted(set(st))), "the last:",
          st[-1] if st else "-", "error:", err)
    return st, err


def cmd_found(a):
    b = a.bucket.encode()
    one = b"GET /%s/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % b
    if a.case == "too-large":
        # 40 pipelined unsigned GETs, then a head with a 70000-byte header
        st, err = late_read(a.port, None, one * 40 + b"GET /%s/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            b"X-Pad: %s\r\n\r\n" % (b, b"p" * 70000))
        return 0 if st == ["403"] * 40 + ["431"] and err == "-" else 1
    if a.case == "drain-pipelined":
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((HOST, a.port))
        s.sendall(signed("GET", "/%s/big" % a.bucket) + b"GET /%s/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"X-Pad: %s\r\n\r\n" % (b, b"p" * 70000))
        time.sleep(0.5)
        os.kill(a.term, 15)
        time.sleep(0.5)
        got, err = read_to_close(s, 65536)
        head, _, body = got.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        print(len(got), "bytes:", head.split(b"\r\n", 1)[0].decode("latin-1"), "body", len(body),
              "of", m.group(1).decode() if m else "?", "error:", err)
        return 0 if head.startswith(b"HTTP/1.1 200") and m and len(body) == int(m.group(1)) and err == "-" else 1
    if a.case in ("http10-pipelined", "http10-list-pipelined"):
        # an HTTP/1.0 request (answered, then closed: a 5000-byte object,
        # or a listing RGW answers chunked, so framed by the close), then
        # a pipelined head with a 70000-byte header that s3gate never reads
        if a.case == "http10-pipelined":
            first = signed("GET", "/%s/obj" % a.bucket, version="1.0")
        else:
            first = signed("GET", "/%s?list-type=2&max-keys=3" % a.bucket, version="1.0",
                           other=[("Connection", "keep-alive")])
        got = []
        st, err = late_read(a.port, None, first + b"GET /%s/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            b"X-Pad: %s\r\n\r\n" % (b, b"p" * 70000), got)
        try:
            ans, cut = parse_all(got[0], [False], err == "-")
        except BadAnswer as e:
            print("not an answer:", e)
            return 1
        return 0 if st == ["200"] and len(ans) == 1 and not cut and err == "-" else 1
    # PROXY v2; a GET with a 400-byte query; a whole head refused (two
    # Authorization lines) with a 1-byte body; a GET: 1086 bytes, the last
    # GET still in the socket when s3gate closes (the PROXY header's read
    # takes at most 1024 bytes)
    pp = ppclient.header({"v2": "10.9.1.7"}, a.port)
    auth = (b"Authorization: AWS4-HMAC-SHA256 Credential=AKEXAMPLE/20261128/us-east-1/s3/aws4_request, "
            b"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + b"0" * 64 + b"\r\n")
    st, err = late_read(a.port, pp, b"GET /%s/obj?%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % (b, b"a" * 400)
                        + b"PUT /%s/k HTTP/1.1\r\nHost: 127.0.0.1\r\n" % b + auth + auth
                        + b"x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nContent-Length: 1\r\n\r\nf" + one)
    return 0 if st == ["403", "400"] and err == "-" else 1


# ---- objects -------------------------------------------------------------------------

def cmd_check_objects(a):
    import backend_state
    bad = n = absent = 0
    seen = set()
    for line in open(a.puts):
        b, key, size, md5 = line.split()
        if (b, key) in seen:
            continue
        seen.add((b, key))
        n += 1
        st, hdrs, _ = backend_state.req("HEAD", b, key)
        if st == 404:
            absent += 1
            continue
        if md5 == ABSENT:
            bad += 1
            print("BAD %s/%s: HEAD %d, %s bytes; its PUT's checksum was wrong: it must not be stored" % (
                b, key, st, hdrs.get("content-length")))
            continue
        etag = hdrs.get("etag", "").strip('"')
        if st != 200 or hdrs.get("content-length") != size or etag != md5:
            bad += 1
            print("BAD %s/%s: HEAD %d, %s bytes ETag %s; sent %s bytes, ETag %s" % (
                b, key, st, hdrs.get("content-length"), etag, size, md5))
    print("objects=%d absent=%d whole=%d bad=%d" % (n, absent, n - absent - bad, bad))
    return 1 if bad or not n else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--tls-port", type=int)
    r.add_argument("--pp-port", type=int)
    r.add_argument("--bucket", required=True)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--seconds", type=float)
    r.add_argument("--iterations", type=int)
    r.add_argument("--only", type=int)
    r.add_argument("--threads", type=int, default=10)
    r.add_argument("--out")
    r.add_argument("--forbid", action="append", default=[])
    r.add_argument("--head-timeout", type=float, default=4.0, help="the proxy's head_timeout")
    r.add_argument("--domain", default="s3.local", help="the proxy's service_domain (virtual-hosted requests)")
    f = sub.add_parser("found")
    f.add_argument("case", choices=["too-large", "pp-refused", "http10-pipelined", "http10-list-pipelined",
                                    "drain-pipelined"])
    f.add_argument("port", type=int)
    f.add_argument("bucket")
    f.add_argument("--term", type=int, help="drain-pipelined: the s3gate to send SIGTERM")
    c = sub.add_parser("check-objects")
    c.add_argument("puts")
    a = ap.parse_args()
    if a.cmd == "run":
        if a.seconds is None and a.iterations is None and a.only is None:
            ap.error("--seconds, --iterations or --only")
        sys.exit(cmd_run(a))
    if a.cmd == "found":
        sys.exit(cmd_found(a))
    sys.exit(cmd_check_objects(a))


if __name__ == "__main__":
    main()
