#!/usr/bin/env python3
"""A stand-in for one of several backend gateways: a TCP relay that parses
nothing, or an address that takes no connection in time.

  tcprelay.py relay ADDR:PORT TARGET_ADDR:PORT --count FILE
      accepts on ADDR:PORT and relays each connection to TARGET (both
      directions, until either side closes); FILE holds the number of
      connections accepted so far, rewritten at each accept.
  tcprelay.py blackhole ADDR:PORT
      listens with a backlog of 1 that it fills itself and never accepts:
      a SYN to it goes unanswered, so a connect hangs until its timeout.

Both print "ready" on stdout once listening, and run until killed.
"""
import os
import socket
import sys
import threading


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(listen, target, count_file):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(hostport(listen))
    ls.listen(128)
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
        for a, z in ((c, b), (b, c)):
            threading.Thread(target=pump, args=(a, z), daemon=True).start()


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


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "relay" and sys.argv[4] == "--count":
        relay(sys.argv[2], sys.argv[3], sys.argv[5])
    elif len(sys.argv) == 3 and sys.argv[1] == "blackhole":
        blackhole(sys.argv[2])
    else:
        sys.exit(__doc__)
