# Removes HTTP/1.1 chunked transfer coding from a raw body (what llhttp hands on).
import sys
raw = open(sys.argv[1], 'rb').read(); out = b''; i = 0
while True:
    j = raw.index(b'\r\n', i); size = int(raw[i:j].split(b';')[0], 16); i = j + 2
    if size == 0: break
    out += raw[i:i + size]; assert raw[i + size:i + size + 2] == b'\r\n'; i += size + 2
assert raw[i:] == b'\r\n', raw[i:]
open(sys.argv[2], 'wb').write(out)
