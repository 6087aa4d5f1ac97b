#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that stalls git traffic at chosen points.

usage: stall_proxy.py LISTEN_PORT TARGET_PORT MODE_FILE LOG_FILE

Forwards each connection to 127.0.0.1:TARGET_PORT.  What it does with a
connection is read from MODE_FILE when the connection is accepted:
  pass         forward both ways
  silent       accept, read what the client sends, never connect to the
               target and never answer
  stall-fetch  forward until the client asks for objects (it sends a
               "want " line: refs were advertised, no pack came yet), then
               forward nothing more either way
  stall-push   forward until the client starts sending its pack ("PACK"),
               then forward nothing more either way
  delay-push SECONDS
               a connection whose request is a push (git://, its first
               bytes name git-receive-pack) is held SECONDS before it is
               forwarded, then forwarded as "pass"; others pass at once
A stalled connection stays open, reading and dropping the client's bytes,
until the client closes it.  LOG_FILE gets one line per connection:
"MODE accepted" and, when it stalled, "MODE stalled" (a held push:
"delay-push pushing", written when the push begins).  The proxy runs until
it is killed (the test's BG_PIDS trap).
"""
import socket
import sys
import threading
import time

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
mode_file, log_file = sys.argv[3], sys.argv[4]
log_lock = threading.Lock()


def log(line):
    with log_lock, open(log_file, "a") as f:
        f.write(line + "\n")


def drain(sock):
    """Read and drop until the peer closes."""
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


def serve(client):
    try:
        with open(mode_file) as f:
            mode = f.read().strip() or "pass"
    except OSError:
        mode = "pass"
    mode, _, arg = mode.partition(" ")
    log(mode + " accepted")
    if mode == "silent":
        drain(client)
        client.close()
        return
    first = b""
    if mode == "delay-push":
        try:
            first = client.recv(65536)
        except OSError:
            first = b""
        if b"git-receive-pack" in first:
            log(mode + " pushing")     # a push has begun
            time.sleep(float(arg))     # the slow push
    try:
        target = socket.create_connection(("127.0.0.1", target_port), timeout=10)
        target.settimeout(None)
        target.sendall(first)
    except OSError:
        client.close()
        return
    stalled = threading.Event()
    trigger = {"stall-fetch": b"want ", "stall-push": b"PACK"}.get(mode)
    seen = bytearray()

    def up():       # client -> target, watching for the trigger
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                if stalled.is_set():
                    continue
                if trigger is not None:
                    seen.extend(data)
                    if trigger in seen:
                        stalled.set()
                        log(mode + " stalled")
                        continue
                    del seen[:-8]
                target.sendall(data)
        except OSError:
            pass
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def down():     # target -> client, until stalled
        try:
            while True:
                data = target.recv(65536)
                if not data:
                    break
                if stalled.is_set():
                    continue
                client.sendall(data)
        except OSError:
            pass
        if not stalled.is_set():
            try:
                client.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    t = threading.Thread(target=down, daemon=True)
    t.start()
    up()
    if stalled.is_set():
        target.close()
    t.join(timeout=120)
    client.close()
    target.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
