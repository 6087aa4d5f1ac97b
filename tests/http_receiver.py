#!/usr/bin/env python3
"""An HTTP receiver for the alert tests: python3 http_receiver.py DIR [SECONDS]

Listens on 127.0.0.1 on an ephemeral port and writes the port to DIR/port.
Every POST is stored as DIR/N.json (the body), DIR/N.auth (the Authorization
header, empty when none) and DIR/N.path (the request path), N counting from
1.  A path starting with /redirect is answered 302 to /followed, /fail with
500; anything else with 204.  It exits after SECONDS (default 120), so a
test that dies cannot leave it behind for long.
"""
import http.server
import os
import sys
import threading

DIR = sys.argv[1]
LIFETIME = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
lock = threading.Lock()
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        with lock:
            count += 1
            base = os.path.join(DIR, str(count))
            for ext, data in ((".path", self.path.encode()),
                              (".auth", (self.headers.get("Authorization") or "").encode()),
                              (".json", body)):
                with open(base + ext + ".tmp", "wb") as f:
                    f.write(data)
                os.rename(base + ext + ".tmp", base + ext)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/followed")
        elif self.path.startswith("/fail"):
            self.send_response(500)
        else:
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Timer(LIFETIME, lambda: os._exit(0)).start()
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
