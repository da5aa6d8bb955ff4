"""bench/idle.py — holds N idle client connections for bench/run.sh.

    idle.py PORT N PATH

Opens N TCP connections to 127.0.0.1:PORT, one after the other, and prints
"open K" (K: how many were opened). On the first line read from stdin it
sends one "GET PATH" (keep-alive) on every connection, reads every answer
(head and Content-Length body) and prints "answered OK OTHER" (OK: 200s).
On the second line, or end of input, it closes them all and exits. The
caller reads the proxy's memory while the connections are held.
"""
import selectors
import socket
import sys


def read_answers(conns, request):
    """Sends request on every connection; returns (200s, others)."""
    sel = selectors.DefaultSelector()
    for s in conns:
        s.sendall(request)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
    ok = other = 0
    pending = len(conns)
    while pending:
        events = sel.select(timeout=30)
        if not events:
            break
        for key, _ in events:
            buf = key.data
            try:
                chunk = key.fileobj.recv(65536)
            except OSError:
                chunk = b""
            buf += chunk
            end = buf.find(b"\r\n\r\n")
            done = not chunk
            if end >= 0:
                length = 0
                for line in bytes(buf[:end]).split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                done = done or len(buf) >= end + 4 + length
            if done:
                sel.unregister(key.fileobj)
                pending -= 1
                if buf.startswith(b"HTTP/1.1 200"):
                    ok += 1
                else:
                    other += 1
    return ok, other + pending


def main():
    port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    conns = []
    for _ in range(n):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
        except OSError as e:
            print("connect failed after %d: %s" % (len(conns), e), file=sys.stderr)
            s.close()
            break
        conns.append(s)
    print("open", len(conns), flush=True)
    if sys.stdin.readline():
        request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode()
        print("answered %d %d" % read_answers(conns, request), flush=True)
        sys.stdin.readline()
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
