"""bench/presign.py — presigned paths for wrk, which cannot sign.

    presign.py AKID SECRET REGION < "NAME BASE_URL" lines

prints "NAME GET_PATH HEAD_PATH" per line: a presigned GET of
/bench/4k.bin and a presigned HEAD of /bench/0.bin (empty: wrk 4.1 has no
notion of HEAD and would wait for a body of Content-Length bytes), each
signed (SigV4, query string, path style) for that host:port, valid 2 hours.
Uses botocore, as the SDKs do (Debian's python3-boto3, /usr/bin/python3).
"""
import sys
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config


def main():
    akid, secret, region = sys.argv[1:4]
    session = botocore.session.get_session()
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    for line in sys.stdin:
        name, endpoint = line.split()
        client = session.create_client(
            "s3", region_name=region, endpoint_url=endpoint, verify=False,
            aws_access_key_id=akid, aws_secret_access_key=secret, config=config)
        paths = []
        for method, key in (("get_object", "4k.bin"), ("head_object", "0.bin")):
            u = urlsplit(client.generate_presigned_url(
                method, Params={"Bucket": "bench", "Key": key}, ExpiresIn=7200))
            paths.append(u.path + "?" + u.query)
        print(name, *paths, flush=True)


if __name__ == "__main__":
    main()
