#!/usr/bin/python3
"""Drives steward's status console in headless Chromium against a running `steward run`.

test_console_integration starts the daemon (a real child service, the test PostgreSQL, backups, probes)
and runs this script; it can also be run by hand against any daemon:

    STEWARD_CONSOLE_TOKEN=... tests/console/console_e2e.py --url http://127.0.0.1:9180 \
        --probe-port 8765 --pid-file /tmp/x/pid --screenshots build/console-screenshots

The script owns the probe's target (a Python http.server on --probe-port) so it can stop and start it.
It exits 0 when every check passed, 1 with a FAIL line naming the first that did not.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree from importing the module beside us
from console_browser import DESKTOP, PHONE, Console, Failure, ProbeTarget, check, http_request, preflight, step

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def check_headers(base):
    for path, content_type in (("/", "text/html; charset=utf-8"),
                               ("/console/console.js", "text/javascript; charset=utf-8"),
                               ("/console/render.js", "text/javascript; charset=utf-8"),
                               ("/console/format.js", "text/javascript; charset=utf-8"),
                               ("/console/console.css", "text/css; charset=utf-8"),
                               ("/console/icon.svg", "image/svg+xml")):
        status, headers, body = http_request(base + path)
        check(status == 200, f"GET {path} without a token: {status}, expected 200")
        check(headers.get("Content-Type") == content_type, f"{path}: Content-Type {headers.get('Content-Type')!r}")
        check(headers.get("Content-Security-Policy") == CSP,
              f"{path}: Content-Security-Policy {headers.get('Content-Security-Policy')!r}")
        check(headers.get("X-Frame-Options") == "DENY", f"{path}: X-Frame-Options {headers.get('X-Frame-Options')!r}")
        check(headers.get("X-Content-Type-Options") == "nosniff", f"{path}: X-Content-Type-Options missing")
        check(headers.get("Referrer-Policy") == "no-referrer", f"{path}: Referrer-Policy missing")
        check(len(body) > 0, f"{path}: empty body")
    step("page and files: 200 without a token, exact CSP, X-Frame-Options DENY, nosniff, no-referrer, types")


def check_refusals(base, token, service, pid_file):
    pid = read_pid(pid_file)
    path = f"{base}/api/v1/services/{service}/restart"
    status, _, body = http_request(path, "POST", {"Authorization": "Bearer " + token, "Content-Type": "text/plain"}, b"{}")
    check(status == 415, f"POST with text/plain and the token: {status} {body!r}, expected 415")
    status, _, body = http_request(path, "POST", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1")
    check(status == 401, f"POST as a cross-site form would send it: {status}, expected 401")
    status, _, body = http_request(path, "POST", {"Content-Type": "application/json"}, b"{}")
    check(status == 401, f"POST with JSON and no token: {status} {body!r}, expected 401")
    check(read_pid(pid_file) == pid, "a refused POST restarted the service")
    step("POST without JSON is 415, without the token 401, and the service kept its pid")


def read_pid(pid_file):
    with open(pid_file) as f:
        return f.read().strip()


def run(args, token, workdir):
    from selenium.webdriver.support.ui import Select

    target = ProbeTarget(args.probe_port)
    target.start()
    check_headers(args.url.rstrip("/"))
    check_refusals(args.url.rstrip("/"), token, args.service, args.pid_file)

    c = Console(args, token, workdir)
    try:
        c.driver.get(c.base + "/")
        c.wait(lambda: c.js("return !document.getElementById('login').hidden"), 15, "the login form")
        c.expect_clean_console("loading the page")
        c.shot("login-desktop-light", DESKTOP[0], full=False)
        c.reset_view()

        # A wrong token: refused, stays on the login form, says so.
        c.driver.find_element("id", "token").send_keys("not-the-token")
        c.click("#login-button")
        c.wait(lambda: "refused" in c.js("return document.getElementById('login-error').textContent"), 15,
               "the wrong token to be refused")
        check(c.js("return document.getElementById('dashboard').hidden"), "a wrong token opened the dashboard")
        c.expect_clean_console("a wrong token", allowed=("401",))
        step("a wrong token is refused on the login form")

        c.driver.find_element("id", "token").clear()
        c.driver.find_element("id", "token").send_keys(token)
        c.click("#login-button")
        c.wait(lambda: (c.service(args.service) or {}).get("state") == "running", 20, "the service running")
        Select(c.driver.find_element("id", "interval")).select_by_value("2000")
        pid = read_pid(args.pid_file)
        c.wait(lambda: c.service(args.service)["pid"] == pid, 10, f"the page to show pid {pid} from the pid file")
        check(c.js("return document.getElementById('token').value") == "", "the token stays in the input field")
        step(f"logged in with the token; {args.service} is running with pid {pid}")
        facts = c.wait(lambda: c.js("return document.getElementById('backup-facts').innerText"), 5, "backup facts")
        facts = " ".join(facts.lower().split())
        check("off-site copy not configured" in facts and "restore drill not scheduled" in facts,
              f"the backup facts do not say what is not configured: {facts!r}")

        c.wait(lambda: c.probe_health(args.probe) == "up", 30, f"probe {args.probe} up")
        step(f"probe {args.probe} is up")

        # Stop asks first; cancelling sends nothing.
        c.click(f'tr[data-service="{args.service}"] button[data-action="stop"]')
        c.wait(c.dialog_open, 5, "the stop confirmation")
        c.click("#confirm-cancel")
        c.wait(lambda: not c.dialog_open(), 5, "the dialog to close")
        check(read_pid(args.pid_file) == pid and c.service(args.service)["state"] == "running",
              "cancelling the stop confirmation changed the service")
        step("stop asks for confirmation; cancel leaves the service running")

        # Restart: confirm, then a new pid on the page and in the pid file.
        c.click(f'tr[data-service="{args.service}"] button[data-action="restart"]')
        c.wait(c.dialog_open, 5, "the restart confirmation")
        c.shot("restart-confirm-phone-dark", PHONE[0], dark=True, phone=True, full=False)
        c.reset_view()
        c.click("#confirm-ok")
        c.wait(lambda: (c.service(args.service)["state"] == "running" and c.service(args.service)["pid"] not in (pid, "—")),
               30, "a new pid after the restart")
        new_pid = c.service(args.service)["pid"]
        c.wait(lambda: read_pid(args.pid_file) == new_pid, 10, "the pid file to agree with the page")
        step(f"restart: confirmed, pid {pid} -> {new_pid} on the page and in the pid file")
        c.expect_clean_console("restarting the service")

        # A backup from the page, then listed.
        before = set(c.backup_ids())
        c.click("#backup-now")
        c.wait(lambda: set(c.backup_ids()) - before, 120, "a new backup in the list")
        new_ids = set(c.backup_ids()) - before
        step(f"backup now: {', '.join(sorted(new_ids))} is listed")

        # Apply pending migrations: asks first, then the new one is applied.
        c.click("#migrate")
        c.wait(c.dialog_open, 5, "the migrations confirmation")
        c.click("#confirm-ok")
        c.wait(lambda: c.js("""const tr = document.querySelector('#migrations tr[data-migration="3"]');
                             return tr && tr.innerText.includes('applied')"""), 60, "migration 3 applied")
        check(c.js("return document.getElementById('sum-migrations').textContent") == "v3",
              "the summary does not show version 3")
        step("apply pending migrations: confirmed, version 3 applied")

        # The probe's target goes away: red; comes back: green.
        target.stop()
        c.wait(lambda: c.probe_health(args.probe) == "down", 30, f"probe {args.probe} down after its target stopped")
        c.wait(lambda: c.js("""return document.getElementById('sum-probes').classList.contains('bad')"""), 10,
               "the probes summary to turn red")
        color = c.js(f"""return getComputedStyle(document.querySelector('tr[data-probe="{args.probe}"] .badge')).color""")
        check(color == "rgb(207, 34, 46)", f"a down probe's badge is {color}, not red")
        step(f"probe target stopped: {args.probe} turns red ({color})")
        c.shot("probe-down-desktop-light", DESKTOP[0])
        c.reset_view()
        target.start()
        c.click(f'tr[data-probe="{args.probe}"] button[data-action="run"]')
        c.wait(lambda: c.probe_health(args.probe) == "up", 30, f"probe {args.probe} up again")
        step(f"probe target started: {args.probe} recovers")

        # Reload shows the dry-run plan first: a probe added to the spec on disk. Cancel changes nothing;
        # apply adds it.
        with open(args.spec) as f:
            spec_text = f.read()
        check("\nprobes:\n" in spec_text, f"{args.spec} has no top-level probes: list to add to")
        added = f"  - {{ name: api-tcp, tcp: {{ address: '127.0.0.1:{args.probe_port}' }}, interval: 2s }}\n"
        with open(args.spec, "w") as f:
            f.write(spec_text.replace("\nprobes:\n", "\nprobes:\n" + added, 1))
        reloads = c.js("return document.querySelectorAll('#events li[data-kind=\"reload\"]').length")
        c.click("#reload")
        c.wait(c.dialog_open, 10, "the reload plan")
        plan = c.js("return document.getElementById('confirm-body').innerText")
        check("dry run" in plan and "Probes added" in plan and "api-tcp" in plan and args.service in plan,
              f"the reload dialog does not show the plan: {plan!r}")
        c.shot("reload-plan-desktop-dark", DESKTOP[0], dark=True, full=False)
        c.reset_view()
        c.click("#confirm-cancel")
        c.wait(lambda: not c.dialog_open(), 5, "the dialog to close")
        status, _, body = http_request(c.base + "/api/v1/status", headers={"Authorization": "Bearer " + token})
        check(status == 200 and "api-tcp" not in [p["name"] for p in json.loads(body)["probes"]],
              "cancelling the reload plan added the probe")
        check(c.js("return document.querySelectorAll('#events li[data-kind=\"reload\"]').length") == reloads,
              "cancelling the reload plan reloaded")
        c.click("#reload")
        c.wait(c.dialog_open, 10, "the reload plan again")
        c.click("#confirm-ok")
        c.wait(lambda: c.probe_health("api-tcp") == "up", 30, "the probe the reload added, up")
        check(c.service(args.service)["pid"] == new_pid, "a reload that only added a probe restarted the service")
        step("reload shows the dry-run plan first; cancel applies nothing; apply adds the probe, same service pid")

        # Pause: no requests while paused; resume polls again.
        c.click("#pause")
        c.drain_logs()
        seen = len(c.requests)
        time.sleep(5)  # a window with no polls is the thing measured: 2.5 intervals of 2 s
        c.drain_logs()
        polls = [u for u in c.requests[seen:] if "/api/v1/status" in u]
        # A refresh in flight at the click may be logged after the first drain: at most that one. A page that
        # kept polling would show two or three in the window.
        check(len(polls) <= 1, f"paused, the page still polled: {polls}")
        c.drain_logs()
        seen = len(c.requests)  # resuming must poll anew: the tolerated in-flight one does not count
        c.click("#pause")
        c.wait(lambda: (c.drain_logs() or True) and any("/api/v1/status" in u for u in c.requests[seen:]), 10,
               "polling to resume")
        step("pause stops polling; resume starts it again")
        c.expect_clean_console("actions")

        # Dark mode and phone width take effect.
        c.emulate(DESKTOP[0], dark=True, phone=False)
        bg = c.js("return getComputedStyle(document.body).backgroundColor")
        check(bg == "rgb(13, 17, 23)", f"dark mode: body background is {bg}")
        c.emulate(PHONE[0], dark=False, phone=True)
        layout = c.js("""return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                          head: getComputedStyle(document.querySelector('#services-card thead')).display}""")
        check(layout["scroll"] <= layout["inner"] and layout["head"] == "none",
              f"phone width: the page overflows or keeps table headers: {layout}")
        c.reset_view()
        step(f"dark mode follows prefers-color-scheme ({bg}); phone width fits {PHONE[0]} px without sideways scrolling")
        c.wait(lambda: not c.js("return document.getElementById('backup-now').disabled"), 60, "the backup to finish")
        for name, width, dark, phone, full in (("dashboard-desktop-light", DESKTOP[0], False, False, True),
                                               ("dashboard-desktop-dark", DESKTOP[0], True, False, True),
                                               ("dashboard-phone-light", PHONE[0], False, True, False),
                                               ("dashboard-phone-dark", PHONE[0], True, True, False),
                                               ("dashboard-phone-light-full", PHONE[0], False, True, True)):
            c.shot(name, width, dark, phone, full)
        c.reset_view()
        step(f"screenshots in {c.shots}")

        # The token: never in a URL, a cookie or localStorage (nor sessionStorage without the opt-in).
        c.drain_logs()
        encoded = {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}
        leaked = [u for u in c.requests + [c.driver.current_url] if any(t in u for t in encoded)]
        check(not leaked, f"the token is in a URL: {leaked}")
        check(len(c.requests) > 10, f"only {len(c.requests)} requests were recorded; the check would be empty")
        cookies = c.cdp("Network.getAllCookies")["cookies"]
        check(not any(token in json.dumps(k) for k in cookies), "the token is in a cookie")
        check(c.js("return document.cookie") == "", "the page set a cookie")
        storage = c.js("return JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
        check(token not in storage, "the token is in localStorage or sessionStorage")
        step(f"the token is in none of {len(c.requests)} request URLs, no cookie, no localStorage or sessionStorage")

        # Opting in keeps it for the tab (sessionStorage) across a reload of the page, still not in localStorage.
        c.click("#logout")
        c.wait(lambda: not c.js("return document.getElementById('login').hidden"), 5, "the login form after logout")
        c.driver.find_element("id", "token").send_keys(token)
        c.click("#remember")
        c.click("#login-button")
        c.wait(lambda: c.service(args.service), 15, "the dashboard after logging in again")
        c.driver.refresh()
        c.wait(lambda: c.service(args.service), 15, "the dashboard after reloading the page")
        check(c.js("return sessionStorage.getItem('steward.admin-token')") == token, "the opt-in did not keep the token")
        check(token not in c.js("return JSON.stringify({...localStorage})"), "the token is in localStorage")
        check(c.js("return document.cookie") == "", "the page set a cookie")
        c.click("#logout")
        check(c.js("return sessionStorage.length") == 0, "logging out left the token in sessionStorage")
        step("opt-in: sessionStorage keeps the token across a page reload; log out removes it")
        c.expect_clean_console("the whole session")

        # The detectors above can see a violation: an inline script is refused and reported by both.
        c.js("const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s)")
        c.wait(lambda: c.js("return window.__cspViolations.length") > 0, 5, "the planted CSP violation to be seen")
        check(c.js("return window.__inline === undefined"), "an inline script ran despite the CSP")
        entries = c.drain_logs()
        check(any("Content Security Policy" in e["message"] for e in entries),
              f"the browser log did not report the planted CSP violation: {entries}")
        step("a planted inline script is blocked and both detectors report it (so they would catch a real one)")
    except Exception:
        c.failure_shot("error")
        raise
    finally:
        c.quit()
        if target.server:
            target.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the admin listener, http://127.0.0.1:PORT")
    parser.add_argument("--service", default="worker", help="a supervised service that writes its pid to --pid-file")
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--spec", required=True, help="the daemon's spec; the reload check adds a probe to it")
    parser.add_argument("--probe", default="api", help="an http probe whose target is --probe-port")
    parser.add_argument("--probe-port", type=int, required=True)
    parser.add_argument("--screenshots", required=True, help="folder for the PNG files")
    args = parser.parse_args()
    token = os.environ.get("STEWARD_CONSOLE_TOKEN")
    if not token:
        parser.error("set STEWARD_CONSOLE_TOKEN to the admin token (kept out of argv)")
    preflight()
    os.makedirs(args.screenshots, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="steward-console-")
    started = time.monotonic()
    try:
        run(args, token, workdir)
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    finally:
        log = os.path.join(workdir, "chromedriver.log")
        if os.path.exists(log):
            shutil.copy(log, os.path.join(args.screenshots, "chromedriver.log"))
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"console: every check passed in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
