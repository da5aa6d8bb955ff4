#!/usr/bin/python3
"""A stand-in backend for the CORS preflight checks of tests/integ/t_bypass13.sh
(python3 stdlib only): a keep-alive HTTP/1.1 origin on 127.0.0.1:PORT that
writes every request head it gets to LOG as it came (heads separated by a
line "----"), and answers by the last path segment:

  pf-ok         200, Access-Control-Allow-Origin and the headers a backend
                should never have relayed (x-rgw-backend, Server naming it),
                Content-Length: 0
  pf-deny       403 with an XML body naming the backend, and in the same
                write a second answer "STRAY-403" (read as the next
                request's answer if the connection were pooled)
  pf-nobucket   404 NoSuchBucket with its body
  anything else 200 "obj:PATH" (a signed request's own answer)

  corsbackend.py PORT --log FILE
"""
import socket
import sys
import threading

LOCK = threading.Lock()


def answer(path, method):
    last = path.split("?")[0].rsplit("/", 1)[-1]
    if method == "OPTIONS" and last == "pf-ok":
        return (b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://app.example\r\n"
                b"Access-Control-Allow-Methods: PUT\r\nx-rgw-backend: rgw-node-7\r\n"
                b"Content-Length: 0\r\n\r\n")
    if method == "OPTIONS" and last == "pf-deny":
        body = b"<Error><Code>AccessForbidden</Code><Message>rgw-node-7 CORSResponse</Message></Error>"
        stray = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nSTRAY-403"
        return (b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n"
                % len(body)) + body + stray
    if method == "OPTIONS" and last == "pf-nobucket":
        body = b"<Error><Code>NoSuchBucket</Code><BucketName>x</BucketName></Error>"
        return (b"HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n"
                % len(body)) + body
    body = b"obj:" + path.encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def serve(c, log):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head, _, buf = buf.partition(b"\r\n\r\n")
            with LOCK, open(log, "ab") as f:
                f.write(head + b"\r\n----\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            length = 0
            for h in head.split(b"\r\n")[1:]:
                n, _, v = h.partition(b":")
                if n.strip().lower() == b"content-length":
                    length = int(v.strip())
            while len(buf) < length:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            buf = buf[length:]
            c.sendall(answer(line[1], line[0]))
    except OSError:
        pass
    finally:
        c.close()


def main():
    port, log = int(sys.argv[1]), sys.argv[3]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, log), daemon=True).start()


if __name__ == "__main__":
    main()
