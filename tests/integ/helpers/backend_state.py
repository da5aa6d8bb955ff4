#!/usr/bin/env python3
"""What RGW holds, asked with the service key (RGW_ENDPOINT, RGW_ACCESS_KEY,
RGW_SECRET_KEY), signed by rawhttp.sigv4_headers; python3 stdlib only.

  backend_state.py versions B K        "VID" per version of K, newest first
                                       ("DM:VID" for a delete marker)
  backend_state.py get B K [VID]       the object's bytes, or "ERR CODE"
  backend_state.py lock B K [VID]      "MODE HOLD" ("- -" for none)
  backend_state.py versioning B        the bucket's versioning status
  backend_state.py uploads B           "KEY UPLOADID" per upload under way
  backend_state.py parts B K UPLOADID  the part numbers RGW holds
  backend_state.py buckets             the backend's bucket names
"""
import http.client
import os
import re
import signal
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawhttp  # noqa: E402

signal.signal(signal.SIGPIPE, signal.SIG_DFL)
EP = urllib.parse.urlparse(os.environ["RGW_ENDPOINT"])


def req(method, bucket=None, key=None, query=""):
    path = "/" + (urllib.parse.quote(bucket) if bucket else "") + \
        ("/" + urllib.parse.quote(key, safe="/~") if key else "")
    target = path + ("?" + query if query else "")
    sig = rawhttp.sigv4_headers(method, target, EP.netloc, os.environ["RGW_ACCESS_KEY"],
                                os.environ["RGW_SECRET_KEY"], "us-east-1", "UNSIGNED-PAYLOAD")
    h = dict(line.split(": ", 1) for line in sig.strip().split("\r\n"))
    h["Host"] = EP.netloc
    c = http.client.HTTPConnection(EP.hostname, EP.port, timeout=30)
    c.request(method, target, headers=h)
    r = c.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def q(**kw):
    return "&".join(k.replace("_", "-") + ("=" + urllib.parse.quote(v, safe="") if v is not None else "")
                    for k, v in kw.items())


def texts(body, tag):
    return [t.decode() for t in re.findall(rb"<%s>([^<]*)</%s>" % (tag.encode(), tag.encode()), body)]


def err(st, body):
    print("ERR", (texts(body, "Code") or [st])[0])


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    vq = q(versionId=a[2]) if len(a) > 2 and a[2] else ""
    if cmd == "versions":
        st, _, body = req("GET", a[0], query=q(versions=None, prefix=a[1]))
        for kind, inner in re.findall(rb"<(Version|DeleteMarker)>(.*?)</\1>", body, re.S):
            if texts(inner, "Key") == [a[1]]:
                print(("DM:" if kind == b"DeleteMarker" else "") + texts(inner, "VersionId")[0])
    elif cmd == "get":
        st, _, body = req("GET", a[0], a[1], vq)
        sys.stdout.write(body.decode("latin-1")) if st == 200 else err(st, body)
    elif cmd == "lock":
        st, h, _ = req("HEAD", a[0], a[1], vq)
        if st == 200:
            print(h.get("x-amz-object-lock-mode", "-"), h.get("x-amz-object-lock-legal-hold", "-"))
        else:
            print("ERR", st)
    elif cmd == "versioning":
        st, _, body = req("GET", a[0], query="versioning")
        print((texts(body, "Status") or ["-"])[0])
    elif cmd == "uploads":
        st, _, body = req("GET", a[0], query="uploads")
        for inner in re.findall(rb"<Upload>(.*?)</Upload>", body, re.S):
            print(texts(inner, "Key")[0], texts(inner, "UploadId")[0])
    elif cmd == "parts":
        st, _, body = req("GET", a[0], a[1], q(uploadId=a[2]))
        print("\n".join(texts(body, "PartNumber"))) if st == 200 else err(st, body)
    elif cmd == "buckets":
        st, _, body = req("GET")
        print("\n".join(texts(body, "Name")))
    else:
        sys.exit("backend_state.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
