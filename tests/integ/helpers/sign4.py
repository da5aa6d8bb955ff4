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


def main():
    akid, secret = os.environ["RAW_AKID"], os.environ["RAW_SECRET"]
    region, token = os.environ.get("RAW_REGION", "us-east-1"), os.environ.get("RAW_TOKEN", "")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "v2q":
        method, resource, exp = args[0], args[1], int(time.time()) + int(args[2])
        sts = "%s\n\n\n%d\n%s" % (method, exp, resource)
        sig = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()
        out = "AWSAccessKeyId=%s&Expires=%d&Signature=%s" % (akid, exp, q(sig))
        if token:
            out += "&x-amz-security-token=" + q(token)
        print(out)
    elif cmd == "v2h":
        method, resource = args[0], args[1]
        date = datetime.datetime.fromtimestamp(time.time() + int(args[2]), datetime.timezone.utc)
        date = date.strftime("%a, %d %b %Y %H:%M:%S GMT")
        amz = {}
        for h in args[3:]:
            n, _, v = h.partition(":")
            amz.setdefault(n.lower(), []).append(v.strip())
        if token:
            amz["x-amz-security-token"] = [token]
        sts = "%s\n\n\n%s\n%s%s" % (method, date, "".join(
            "%s:%s\n" % (n, ",".join(amz[n])) for n in sorted(amz)), resource)
        sig = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()
        out = "Date: %s\\r\\nAuthorization: AWS %s:%s\\r\\n" % (date, akid, sig)
        if token:
            out += "x-amz-security-token: %s\\r\\n" % token
        print(out)
    elif cmd == "v4q":
        method, path, host, expires, off = args[0], args[1], args[2], args[3], int(args[4])
        now = datetime.datetime.fromtimestamp(time.time() + off, datetime.timezone.utc)
        amzdate = now.strftime("%Y%m%dT%H%M%SZ")
        scope = "%s/%s/s3/aws4_request" % (amzdate[:8], region)
        params = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", akid + "/" + scope),
                  ("X-Amz-Date", amzdate), ("X-Amz-Expires", expires), ("X-Amz-SignedHeaders", "host")]
        if token:
            params.append(("X-Amz-Security-Token", token))
        for p in args[5:]:
            n, _, v = p.partition("=")
            params.append((n, v))
        cq = "&".join("%s=%s" % (q(n), q(v)) for n, v in sorted(params))
        creq = "\n".join([method, path, cq, "host:%s\n" % host, "host", "UNSIGNED-PAYLOAD"])
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + secret).encode()
        for m in (amzdate[:8], region, "s3", "aws4_request"):
            k = hmac.new(k, m.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        print(cq + "&X-Amz-Signature=" + sig)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
