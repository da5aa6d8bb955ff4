#!/usr/bin/python3
"""A client that speaks as a load balancer does on a PROXY protocol listener
(tests/integ/t_proxyproto.sh; python3 stdlib only): a PROXY header first,
then, on the same connection, plain HTTP or TLS.

  ppclient.py PORT [--v1 SRC | --v2 SRC | --v2-local | --raw TEXT | --none]
              [--split] [--tls] [--path PATH] [--hold S] [--wait S]

  --v1 SRC     "PROXY TCP4 SRC 127.0.0.1 40000 PORT\\r\\n" (TCP6 for an IPv6 SRC)
  --v2 SRC     the binary v2 header, command PROXY, TCP over IPv4/IPv6
  --v2-local   v2, command LOCAL (a balancer's health check)
  --raw TEXT   TEXT (backslash escapes decoded) in place of a header
  --none       no header
  --split      the header in two writes, 0.3 s apart
  --tls        TLS after the header (certificate not verified)
  --path PATH  the request sent after it: "GET PATH HTTP/1.1" (default
               /ws-nobody/x), unsigned: s3gate answers it (403) and logs it
  --hold S     after the header, wait S seconds before the request (an
               idle connection held open)
  --wait S     how long to wait for the answer (default 5)
  --src ADDR   connect from ADDR (a loopback address such as 127.0.0.9)
  --ready FILE written once every connection has sent its header (a test
               waits for it rather than guess how long python takes to start)
  --count N    N such connections at once (each sends its header, all are
               held --hold seconds, then each sends its request)
  --tlv        (with --v2) TLVs after the addresses: ALPN "h2", an authority,
               a NOOP
  --bytewise   the header one byte per write (TCP_NODELAY), 1 ms apart
  --with-request  the request in the header's own write (one segment)
  --reset      after the header, the connection reset (RST): prints "reset"
  --junk       after the header, bytes that are neither TLS nor HTTP ("\x16\x03"
               then garbage: a ClientHello that is not one)

Prints "STATUS" (the answer's status code) or "closed" (the connection
closed, or was reset, with no answer), one line per connection.
"""
import ipaddress
import socket
import ssl
import struct
import sys
import time

SIG2 = b"\r\n\r\n\x00\r\nQUIT\n"


def header(args, port):
    if args.get("none"):
        return b""
    if "raw" in args:
        return args["raw"].encode().decode("unicode_escape").encode("latin-1")
    if args.get("v2-local"):
        return SIG2 + bytes([0x20, 0x00, 0x00, 0x00])
    if "v1" in args:
        src = ipaddress.ip_address(args["v1"])
        if src.version == 4:
            return b"PROXY TCP4 %s 127.0.0.1 40000 %d\r\n" % (str(src).encode(), port)
        return b"PROXY TCP6 %s ::1 40000 %d\r\n" % (str(src).encode(), port)
    src = ipaddress.ip_address(args["v2"])
    if src.version == 4:
        body = src.packed + ipaddress.ip_address("127.0.0.1").packed + struct.pack("!HH", 40000, port)
        return SIG2 + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body
    body = src.packed + ipaddress.ip_address("::1").packed + struct.pack("!HH", 40000, port)
    return SIG2 + bytes([0x21, 0x21]) + struct.pack("!H", len(body)) + body


def tlvs():
    """ALPN "h2", an authority (0x02) and a NOOP (0x04) with 3 bytes."""
    return (b"\x01" + struct.pack("!H", 2) + b"h2" + b"\x02" + struct.pack("!H", 11) + b"example.com" +
            b"\x04" + struct.pack("!H", 3) + b"\x00\x00\x00")


def request(args, port):
    path = args.get("path", "/ws-nobody/x")
    return b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % (path.encode(), port)


def opened(args, port, wait):
    """A connection that has sent its header; None if it could not."""
    try:
        src = (args["src"], 0) if "src" in args else None
        s = socket.create_connection(("127.0.0.1", port), timeout=wait, source_address=src)
        h = header(args, port)
        if args.get("tlv") and h[:12] == SIG2:
            extra = tlvs()
            h = h[:14] + struct.pack("!H", struct.unpack("!H", h[14:16])[0] + len(extra)) + h[16:] + extra
        if args.get("with-request"):
            h += request(args, port)
        if args.get("bytewise"):
            # a segment per byte (no Nagle), 1 ms apart: 100 bytes stay well
            # within a 1 s head_timeout even when a loaded machine's sleeps
            # run long (4 ms apart, they came close to it)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(h)):
                s.sendall(h[i:i + 1])
                time.sleep(0.001)
        elif args.get("split") and len(h) > 1:
            s.sendall(h[: len(h) // 2])
            time.sleep(0.3)
            s.sendall(h[len(h) // 2:])
        elif h:
            s.sendall(h)
        return s
    except OSError:
        return None


def answer(s, args, port):
    """The request on S, and the status of its answer (or "closed")."""
    if s is None:
        return "closed"
    if args.get("reset"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        return "reset"
    try:
        if args.get("junk"):
            s.sendall(b"\x16\x03\x01\x00\x05junk!" + b"\xff" * 64)
        elif args.get("tls"):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s, server_hostname="localhost")
        if not args.get("with-request") and not args.get("junk"):
            s.sendall(request(args, port))
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (OSError, ssl.SSLError):
        data = b""
    finally:
        s.close()
    return data[9:12].decode() if data.startswith(b"HTTP/1.1 ") else "closed"


def main():
    port = int(sys.argv[1])
    args, i, argv = {}, 2, sys.argv
    while i < len(argv):
        a = argv[i][2:]
        if a in ("none", "v2-local", "split", "tls", "tlv", "bytewise", "with-request", "reset", "junk"):
            args[a] = True
            i += 1
        else:
            args[a] = argv[i + 1]
            i += 2
    wait = float(args.get("wait", 5))
    conns = [opened(args, port, wait) for _ in range(int(args.get("count", 1)))]
    if "ready" in args:
        with open(args["ready"], "w") as f:
            f.write("%d\n" % len(conns))
    if "hold" in args:
        time.sleep(float(args["hold"]))
    for s in conns:
        print(answer(s, args, port))


if __name__ == "__main__":
    main()
