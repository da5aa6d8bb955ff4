#!/usr/bin/env python3
"""A stand-in for one of several backend gateways: a TCP relay that parses
nothing, an address that takes no connection in time, or a gateway that
takes connections and fails the requests on them.

  tcprelay.py relay ADDR:PORT TARGET_ADDR:PORT --count FILE [--hold MARKER SECONDS]
      accepts on ADDR:PORT and relays each connection to TARGET (both
      directions, until either side closes); FILE holds the number of
      connections accepted so far, rewritten at each accept.  With
      --hold, an answer to a request whose bytes carry MARKER is held
      SECONDS before it is relayed (a gateway slow at some operation);
      FILE.held counts the answers held so far.
  tcprelay.py blackhole ADDR:PORT
      listens with a backlog of 1 that it fills itself and never accepts:
      a SYN to it goes unanswered, so a connect hangs until its timeout.
  tcprelay.py gateway ADDR:PORT MODE --count FILE
      accepts on ADDR:PORT and reads request heads (and bodies, by
      Content-Length); then, by MODE: reset (an RST, no answer: a crashed
      gateway behind something still accepting), close (closed without an
      answer), silent (no answer ever), garbage (a line that is not HTTP,
      then closed: something else on the gateway's port), or a status such as 503 (answered
      with it, keep-alive, every request: an S3 error body naming this
      address; 200: the body "ok").  FILE holds the number of request
      heads read so far, FILE.open the number of connections open now.
      SIGUSR1 closes the listener: new connections are refused, the open
      ones served on (a gateway that went away, its connections kept).

All print "ready" on stdout once listening, and run until killed.
"""
import os
import signal
import socket
import struct
import sys
import threading
import time


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def pump(src, dst, hold=None, mark=None):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            if mark is not None and hold["marker"] in b:
                hold["pending"] = True
            if hold is not None and mark is None and hold.get("pending"):
                hold["pending"] = False
                hold["count"]()
                time.sleep(hold["seconds"])
            dst.sendall(b)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(listen, target, count_file, marker=None, seconds=0.0):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(hostport(listen))
    ls.listen(128)
    nheld = [0]
    lock = threading.Lock()

    def held():
        with lock:
            nheld[0] += 1
            with open(count_file + ".held.tmp", "w") as f:
                f.write("%d\n" % nheld[0])
            os.replace(count_file + ".held.tmp", count_file + ".held")
    print("ready", flush=True)
    n = 0
    with open(count_file, "w") as f:
        f.write("0\n")
    while True:
        c, _ = ls.accept()
        n += 1
        with open(count_file + ".tmp", "w") as f:
            f.write("%d\n" % n)
        os.replace(count_file + ".tmp", count_file)
        try:
            b = socket.create_connection(hostport(target))
        except OSError:
            c.close()
            continue
        if marker is None:
            for a, z in ((c, b), (b, c)):
                threading.Thread(target=pump, args=(a, z), daemon=True).start()
            continue
        hold = {"marker": marker, "seconds": seconds, "count": held}
        threading.Thread(target=pump, args=(c, b, hold, True), daemon=True).start()
        threading.Thread(target=pump, args=(b, c, hold), daemon=True).start()


def blackhole(listen):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(hostport(listen))
    ls.listen(0)
    # fill the accept queue (and the SYN queue's overflow) with our own connections
    held = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(hostport(listen))
        except BlockingIOError:
            pass
        held.append(s)
    print("ready", flush=True)
    threading.Event().wait()


class Gateway:
    def __init__(self, listen, mode, count_file):
        self.listen, self.mode, self.count_file = listen, mode, count_file
        self.lock = threading.Lock()
        self.requests = self.open = 0
        self.write()

    def write(self):
        for name, n in ((self.count_file, self.requests), (self.count_file + ".open", self.open)):
            with open(name + ".tmp", "w") as f:
                f.write("%d\n" % n)
            os.replace(name + ".tmp", name)

    def counted(self, requests=0, open_=0):
        with self.lock:
            self.requests += requests
            self.open += open_
            self.write()

    def answer(self, method):
        status = int(self.mode)
        if status == 200:
            body = b"ok"
        else:
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code>"
                    "<Message>stand-in gateway %s answers %d</Message></Error>" % (self.listen, status)).encode()
        head = ("HTTP/1.1 %d Stand-in\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                "x-amz-request-id: standin-%d\r\n\r\n" % (status, "text/plain" if status == 200 else
                "application/xml", len(body), self.requests)).encode()
        return head if method == b"HEAD" else head + body

    def serve(self, c):
        f = c.makefile("rb")
        try:
            while True:
                lines = [f.readline(65536)]
                while lines[-1] not in (b"\r\n", b"\n", b""):
                    lines.append(f.readline(65536))
                if lines[-1] == b"":
                    return  # closed before a whole head (the readiness probe's connects)
                self.counted(requests=1)
                length = sum(int(l.split(b":", 1)[1]) for l in lines[1:]
                             if l.lower().startswith(b"content-length:"))
                if self.mode == "garbage":
                    c.sendall(b"SSH-2.0-OpenSSH_9.2 not a gateway\r\n\r\n")
                    return
                if self.mode in ("reset", "close"):
                    if self.mode == "reset":
                        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                f.read(length)
                if self.mode == "silent":
                    while f.read1(65536):
                        pass
                    return
                c.sendall(self.answer(lines[0].split(b" ", 1)[0]))
        except OSError:
            pass
        finally:
            f.close()
            c.close()
            self.counted(open_=-1)

    def run(self):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(hostport(self.listen))
        ls.listen(128)

        def gone(signum, frame):
            ls.close()
        signal.signal(signal.SIGUSR1, gone)
        print("ready", flush=True)
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                break
            self.counted(open_=1)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()
        threading.Event().wait()


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "relay" and sys.argv[4] == "--count":
        relay(sys.argv[2], sys.argv[3], sys.argv[5])
    elif len(sys.argv) == 9 and sys.argv[1] == "relay" and sys.argv[4] == "--count" and \
            sys.argv[6] == "--hold":
        relay(sys.argv[2], sys.argv[3], sys.argv[5], sys.argv[7].encode(), float(sys.argv[8]))
    elif len(sys.argv) == 3 and sys.argv[1] == "blackhole":
        blackhole(sys.argv[2])
    elif len(sys.argv) == 6 and sys.argv[1] == "gateway" and sys.argv[4] == "--count" and \
            (sys.argv[3] in ("reset", "close", "silent", "garbage") or sys.argv[3].isdigit()):
        Gateway(sys.argv[2], sys.argv[3], sys.argv[5]).run()
    else:
        sys.exit(__doc__)
