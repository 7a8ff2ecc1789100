#!/usr/bin/env python3
"""review-check.py URL USER PASSWORD RECORD OUTDIR [DEVICE_PUB_BASE64]

The supervisor's side of the boot test (image/boot-test.sh): Debian's headless Chromium, driven
through chromedriver (W3C WebDriver over HTTP, standard library only), logs in to the device's
review UI at URL (the guest's forwarded HTTPS port; self-signed, so insecure certificates are
accepted, as a supervisor accepts the fingerprint the technician screen shows), searches
RECORD, opens its case, exports it, and checks the downloaded zip with docs/verify-export.py
(with --device-key when the device's public key is given). Prints one "REVIEW: step ..." line
per step and exits 0 only when every step passed. OUTDIR receives the download, a screenshot of
the case page (review-case.png) and the verifier's output.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
HERE = os.path.dirname(os.path.abspath(__file__))


class Fail(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Driver:
    def __init__(self, exe):
        self.port = free_port()
        self.proc = subprocess.Popen([exe, f"--port={self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while True:
            try:
                if self.call("GET", "/status").get("ready"):
                    return
            except (OSError, Fail):
                pass
            if time.time() > deadline:
                raise Fail("chromedriver did not become ready in 30 s")
            time.sleep(0.2)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            raise Fail(f"{method} {path}: HTTP {e.code} {e.read()[:300]!r}")

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Browser:
    def __init__(self, d, profile, downloads):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": True,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
                         f"--user-data-dir={profile}"],
                "prefs": {"download.default_directory": downloads,
                          "download.prompt_for_download": False,
                          "safebrowsing.enabled": False},
            }}}}
        self.d = d
        self.sid = d.call("POST", "/session", caps)["sessionId"]

    def s(self, method, path, body=None):
        return self.d.call(method, f"/session/{self.sid}{path}", body)

    def goto(self, url):
        self.s("POST", "/url", {"url": url})

    def find(self, css):
        v = self.s("POST", "/element", {"using": "css selector", "value": css})
        return v[ELEMENT]

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def type_into(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def url_when(self, want, secs=60):
        deadline = time.time() + secs
        while True:
            url = self.s("GET", "/url") or ""
            if want(url) or time.time() > deadline:
                return url
            time.sleep(0.2)

    def source(self):
        return self.s("GET", "/source") or ""

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))


def main():
    if len(sys.argv) not in (6, 7):
        print(__doc__)
        return 2
    url, user, password, record, out = sys.argv[1:6]
    device_pub = sys.argv[6] if len(sys.argv) == 7 else ""
    exe = next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
                if os.path.exists(p)), None)
    if not exe or not os.path.exists("/usr/bin/chromium"):
        print("REVIEW: skipped: chromium or chromedriver absent (scripts/setup.sh --tests)")
        return 3
    downloads = os.path.join(out, "downloads")
    profile = os.path.join(out, "chromium-profile")
    for p in (downloads, profile):
        shutil.rmtree(p, ignore_errors=True)
        os.makedirs(p)
    d = Driver(exe)
    ok = True

    def step(name, cond, detail=""):
        nonlocal ok
        print(f"REVIEW: {'ok' if cond else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        if not cond:
            ok = False
            raise Fail(name)

    try:
        b = Browser(d, profile, downloads)
        b.goto(f"{url}/login")
        b.type_into("#username", user)
        b.type_into("#password", password)
        b.click("#login-button")
        u = b.url_when(lambda u: u.endswith("/search"))
        step("login as the provisioned supervisor", u.endswith("/search"), u)
        b.type_into("#record", record)
        b.click("#search-button")
        u = b.url_when(lambda u: "record=" in u)
        step("search by record ID", "record=" in u and record in b.source(), u)
        b.click("a.case-link")
        u = b.url_when(lambda u: u.endswith(f"/case/{record}"))
        src = b.source()
        n = src.count('class="ok integrity"')
        step("open the case: its snapshots are intact", u.endswith(f"/case/{record}") and n >= 1,
             f"{n} intact snapshot(s)")
        b.screenshot(os.path.join(out, "review-case.png"))
        b.click("#export-button")
        want = os.path.join(downloads, f"motcua-case-{record}.zip")
        deadline = time.time() + 90
        while not os.path.exists(want) and time.time() < deadline:
            time.sleep(0.5)
        step("export the case (download)", os.path.exists(want), want)
        cmd = [sys.executable, os.path.join(HERE, "..", "docs", "verify-export.py"), want]
        cmd += ["--device-key", device_pub] if device_pub else ["--allow-untrusted"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        with open(os.path.join(out, "verify-export.txt"), "w") as f:
            f.write(r.stdout + r.stderr)
        last = (r.stdout.strip().splitlines() or [r.stderr.strip()])[-1]
        step("docs/verify-export.py on the export" + (" (--device-key)" if device_pub else ""),
             r.returncode == 0, last)
    except (Fail, OSError, KeyError, TypeError) as e:
        if ok:
            print(f"REVIEW: FAIL {e}")
        ok = False
    finally:
        d.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
