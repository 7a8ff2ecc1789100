#!/usr/bin/python3
"""An HTTP snapshot camera that refuses digest nonce reuse, as some cameras do: every 401
carries a fresh nonce, each nonce is good for one request only, and a reused (or unknown)
nonce is answered 401 with a fresh challenge WITHOUT stale=true — so a client cannot tell it
from a wrong password except by trying the fresh nonce once. Python standard library only.

Serves JPEG_FILE at /picture (Digest, qop=auth, MD5, realm "IP Camera"). The password is read
from PASSWORD_FILE on every request (a test changes it to play a password changed on the
camera). GET /stats (no auth) answers `requests=N ok=N reused=N wrong=N` for /picture. While a file
`basic` exists next to PASSWORD_FILE, the camera plays a downgrade (someone answering at its
address asking for Basic): every request gets a Basic challenge, and a Basic answer is
counted in `basic=N` (GET /stats then ends with ` basic=N`).

Usage: digest_once.py USER PASSWORD_FILE JPEG_FILE
Prints "READY <port>" once it listens.
"""
import hashlib
import http.server
import os
import re
import sys
import threading

USER, PASSWORD_FILE, JPEG_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
BASIC = os.path.join(os.path.dirname(PASSWORD_FILE), "basic")
REALM = "IP Camera"
lock = threading.Lock()
fresh = set()
stats = {"requests": 0, "ok": 0, "reused": 0, "wrong": 0, "basic": 0}


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def new_nonce():
    n = os.urandom(16).hex()
    with lock:
        fresh.add(n)
    return n


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/stats":
            with lock:
                text = "requests=%(requests)d ok=%(ok)d reused=%(reused)d wrong=%(wrong)d" % stats
                if stats["basic"] or os.path.exists(BASIC):
                    text += " basic=%(basic)d" % stats
            return self.reply(200, "text/plain", text.encode())
        if self.path != "/picture":
            return self.reply(404, "text/plain", b"not found")
        with lock:
            stats["requests"] += 1
        header = self.headers.get("Authorization", "")
        if os.path.exists(BASIC):
            if header.startswith("Basic "):
                with lock:
                    stats["basic"] += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="%s"' % REALM)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not header.startswith("Digest "):
            return self.challenge()
        f = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header[7:])}
        nonce = f.get("nonce", "")
        with lock:
            known = nonce in fresh
            fresh.discard(nonce)
            if not known:
                stats["reused"] += 1
        if not known:
            return self.challenge()
        with open(PASSWORD_FILE) as p:
            password = p.read().strip("\n")
        ha1 = md5("%s:%s:%s" % (USER, REALM, password))
        ha2 = md5("GET:%s" % f.get("uri", ""))
        want = md5(":".join([ha1, nonce, f.get("nc", ""), f.get("cnonce", ""), "auth", ha2]))
        if f.get("username") != USER or f.get("response") != want:
            with lock:
                stats["wrong"] += 1
            return self.challenge()
        with lock:
            stats["ok"] += 1
        with open(JPEG_FILE, "rb") as j:
            self.reply(200, "image/jpeg", j.read())

    def challenge(self):
        self.send_response(401)
        self.send_header(
            "WWW-Authenticate",
            'Digest realm="%s", qop="auth", algorithm=MD5, nonce="%s"' % (REALM, new_nonce()),
        )
        self.send_header("Content-Length", "0")
        self.end_headers()

    def reply(self, status, kind, data):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("READY %d" % httpd.server_address[1], flush=True)
httpd.serve_forever()
