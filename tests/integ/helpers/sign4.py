#!/usr/bin/python3
"""Signatures t_bypass4.sh builds by hand (python3 stdlib only), with the
keys in $RAW_AKID / $RAW_SECRET (region $RAW_REGION, token $RAW_TOKEN):

  sign4.py v2q METHOD RESOURCE EXPIRES_IN
      A SigV2 presigned query (aws-cli v1 `s3 presign` style) for the V2
      canonical RESOURCE ("/bucket/key[?subresource]"), Expires = now +
      EXPIRES_IN seconds (negative: in the past).
  sign4.py v2h METHOD RESOURCE DATE_OFFSET [x-amz-name:value...]
      SigV2 header lines (Date, Authorization), the Date DATE_OFFSET seconds
      from now; the x-amz-* headers given are signed (the request must carry
      them, in any order).  Lines end with a literal \\r\\n (rawhttp escapes).
  sign4.py v4q METHOD PATH HOST EXPIRES DATE_OFFSET [name=value...]
      A SigV4 presigned query: X-Amz-Expires EXPIRES, X-Amz-Date
      DATE_OFFSET seconds from now, SignedHeaders host; the extra
      parameters are signed too (X-Amz-Security-Token from $RAW_TOKEN).
"""
import base64
import datetime
import hashlib
import hmac
import os
import sys
import time
import urllib.parse


def q(s):
    return urllib.parse.quote(s, safe="-_.~")


def presign_v2(akid, secret, token, method, resource, exp):
    """The SigV2 presigned query of v2q, Expires EXP (seconds since the epoch)."""
    sts = "%s\n\n\n%d\n%s" % (method, exp, resource)
    sig = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    out = "AWSAccessKeyId=%s&Expires=%d&Signature=%s" % (akid, exp, q(sig))
    if token:
        out += "&x-amz-security-token=" + q(token)
    return out


def headers_v2(akid, secret, token, method, resource, when, amz_lines):
    """The SigV2 header lines of v2h as (name, value), Date WHEN (seconds
    since the epoch); AMZ_LINES: "x-amz-name:value" strings to sign."""
    date = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    date = date.strftime("%a, %d %b %Y %H:%M:%S GMT")
    amz = {}
    for h in amz_lines:
        n, _, v = h.partition(":")
        amz.setdefault(n.lower(), []).append(v.strip())
    if token:
        amz["x-amz-security-token"] = [token]
    sts = "%s\n\n\n%s\n%s%s" % (method, date, "".join(
        "%s:%s\n" % (n, ",".join(amz[n])) for n in sorted(amz)), resource)
    sig = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    out = [("Date", date), ("Authorization", "AWS %s:%s" % (akid, sig))]
    if token:
        out.append(("x-amz-security-token", token))
    return out


def presign_v4(akid, secret, region, token, method, path, host, expires, when, params=()):
    """The SigV4 presigned query of v4q, X-Amz-Date WHEN (seconds since the
    epoch); PARAMS: further (name, value) to sign."""
    now = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    amzdate = now.strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/%s/s3/aws4_request" % (amzdate[:8], region)
    params = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", akid + "/" + scope),
              ("X-Amz-Date", amzdate), ("X-Amz-Expires", expires), ("X-Amz-SignedHeaders", "host")] + list(params)
    if token:
        params.append(("X-Amz-Security-Token", token))
    cq = "&".join("%s=%s" % (q(n), q(v)) for n, v in sorted(params))
    creq = "\n".join([method, path, cq, "host:%s\n" % host, "host", "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for m in (amzdate[:8], region, "s3", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return cq + "&X-Amz-Signature=" + sig


def main():
    akid, secret = os.environ["RAW_AKID"], os.environ["RAW_SECRET"]
    region, token = os.environ.get("RAW_REGION", "us-east-1"), os.environ.get("RAW_TOKEN", "")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "v2q":
        print(presign_v2(akid, secret, token, args[0], args[1], int(time.time()) + int(args[2])))
    elif cmd == "v2h":
        print("".join("%s: %s\\r\\n" % nv for nv in
                      headers_v2(akid, secret, token, args[0], args[1], time.time() + int(args[2]), args[3:])))
    elif cmd == "v4q":
        print(presign_v4(akid, secret, region, token, args[0], args[1], args[2], args[3],
                         time.time() + int(args[4]), [p.partition("=")[::2] for p in args[5:]]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
