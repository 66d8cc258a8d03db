"""The browser side of the console test: headless Chromium through chromium-driver, the probe target the
test stops and starts, and small helpers; console_e2e.py holds the checks."""

import base64
import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)


class Failure(Exception):
    pass


def step(text):
    print(f"ok - {text}", flush=True)


def check(condition, message):
    if not condition:
        raise Failure(message)


class ProbeTarget:
    """The probe's target: 200 on every GET while running, connection refused while stopped."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    def __init__(self, port):
        self.port = port
        self.server = None
        self.thread = None

    def start(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self.Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        self.server = None


def http_request(url, method="GET", headers=None, body=None):
    """(status, headers, body) of one request; HTTP errors are results, not exceptions."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def preflight():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium (Python module selenium for /usr/bin/python3)")
    if missing:
        print("FAIL: the console test needs Debian's chromium, chromium-driver and python3-selenium; missing: "
              + ", ".join(missing) + ". Run scripts/install-deps.", flush=True)
        sys.exit(1)


class Console:
    """The browser, the page and the checks that read them."""

    def __init__(self, args, token, workdir):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.args = args
        self.token = token
        self.base = args.url.rstrip("/")
        self.shots = args.screenshots
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-extensions",
                     "--password-store=basic", "--hide-scrollbars", f"--user-data-dir={workdir}/profile",
                     f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        service = Service(executable_path=CHROMEDRIVER, log_path=os.path.join(workdir, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_script_timeout(20)
        # Runs in every new document before the page's own script (DevTools scripts are not subject to the
        # page's CSP): a second, independent record of CSP violations next to the console log.
        self.cdp("Page.addScriptToEvaluateOnNewDocument", {"source": (
            "window.__cspViolations = [];"
            "document.addEventListener('securitypolicyviolation', e => "
            "window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")})
        self.requests = []  # every URL the browser asked for, from the DevTools performance log
        self.log_entries = []

    def cdp(self, command, params=None):
        return self.driver.execute_cdp_cmd(command, params or {})

    def quit(self):
        self.driver.quit()

    # --- reading the page --------------------------------------------------------------------

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception as e:  # a row re-rendered between two calls: try again
                last_error = e
            time.sleep(0.1)
        self.failure_shot("timeout")
        raise Failure(f"timed out after {timeout} s waiting for {what}"
                      + (f" (last error: {last_error})" if last_error else "")
                      + "\npage text:\n" + self.js("return document.body.innerText")[:3000])

    def service(self, name):
        return self.js("""
            const tr = document.querySelector(`tr[data-service="${arguments[0]}"]`);
            return tr ? {state: tr.dataset.state, pid: tr.querySelector('td.pid').textContent} : null;""", name)

    def probe_health(self, name):
        return self.js("""
            const tr = document.querySelector(`tr[data-probe="${arguments[0]}"]`);
            return tr ? tr.dataset.health : null;""", name)

    def backup_ids(self):
        return self.js("return [...document.querySelectorAll('#backups tr[data-backup]')].map(r => r.dataset.backup)")

    def click(self, selector):
        self.js("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", selector)
        from selenium.webdriver.common.by import By
        self.driver.find_element(By.CSS_SELECTOR, selector).click()

    def dialog_open(self):
        return self.js("return document.getElementById('confirm').open")

    def drain_logs(self):
        """Browser console entries and requested URLs since the last call."""
        entries = self.driver.get_log("browser")
        self.log_entries += entries
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
        return entries

    def expect_clean_console(self, phase, allowed=()):
        entries = self.drain_logs()
        bad = [e for e in entries if e["level"] in ("SEVERE", "WARNING")
               and not any(a in e["message"] for a in allowed)]
        check(not bad, f"{phase}: the browser console has errors or warnings: {bad}")
        violations = self.js("return window.__cspViolations || []")
        check(violations == [], f"{phase}: CSP violations: {violations}")

    # --- screenshots -------------------------------------------------------------------------

    def emulate(self, width, dark, phone):
        self.cdp("Emulation.setEmulatedMedia",
                 {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": PHONE[1] if phone else DESKTOP[1],
                  "deviceScaleFactor": 2 if phone else 1, "mobile": phone})

    def shot(self, name, width, dark=False, phone=False, full=True):
        """A PNG of the page at `width` (phone: a mobile viewport), light or dark; full height when `full`."""
        self.emulate(width, dark, phone)
        height = self.js("return Math.ceil(document.documentElement.scrollHeight)") if full else None
        if full:
            self.cdp("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": max(height, PHONE[1] if phone else DESKTOP[1]),
                      "deviceScaleFactor": 2 if phone else 1, "mobile": phone})
        data = self.cdp("Page.captureScreenshot", {"format": "png"})["data"]
        path = os.path.join(self.shots, name + ".png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        self.emulate(width, dark, phone)
        return path

    def reset_view(self):
        self.cdp("Emulation.clearDeviceMetricsOverride")
        self.cdp("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})

    def failure_shot(self, name):
        try:
            self.driver.save_screenshot(os.path.join(self.shots, "failure-" + name + ".png"))
        except Exception:
            pass
