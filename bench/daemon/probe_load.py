#!/usr/bin/env python3
"""Probe capacity: probes done, failures, CPU seconds and RSS of a prober over a measured window.

Usage:
  probe_load.py steward PID METRICS_URL WARMUP SECONDS
      steward schedules its own probes; /metrics is read just before and just after the window
      (steward_probe_duration_seconds_count and steward_probe_failures_total summed over probes).
  probe_load.py blackbox PID EXPORTER_HOST:PORT FIRST_TARGET_PORT TARGETS WARMUP SECONDS
      plays Prometheus: one keep-alive connection per target, each target's /probe?module=http_2xx
      once a second, starts spread over the second (as Prometheus spreads scrape offsets).
Prints one line: probes=N failures=N cpu_seconds=X rss_kb=N seconds=X
"""
import asyncio
import os
import re
import sys
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def steward_counts(url):
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    runs = sum(float(v) for v in re.findall(r"^steward_probe_duration_seconds_count\{[^}]*\} (\S+)$", text, re.M))
    fails = sum(float(v) for v in re.findall(r"^steward_probe_failures_total\{[^}]*\} (\S+)$", text, re.M))
    return runs, fails


def measure_steward(pid, url, warmup, seconds):
    time.sleep(warmup)
    runs0, fails0 = steward_counts(url)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    runs1, fails1 = steward_counts(url)
    report(runs1 - runs0, fails1 - fails0, cpu1 - cpu0, rss_kb(pid), t1 - t0)


def report(probes, failures, cpu, rss, seconds):
    print("probes=%d failures=%d cpu_seconds=%.3f rss_kb=%d seconds=%.3f" % (probes, failures, cpu, rss, seconds))


class Counts:
    probes = 0
    failures = 0
    errors = 0


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:  # chunked
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    return status, body


async def target_loop(host, port, target_port, offset, start, stop_at, counts):
    request = (
        "GET /probe?module=http_2xx&target=127.0.0.1:%d HTTP/1.1\r\nHost: %s:%d\r\n"
        "X-Prometheus-Scrape-Timeout-Seconds: 2\r\n\r\n" % (target_port, host, port)
    ).encode()
    reader, writer = await asyncio.open_connection(host, port)
    due = start + offset
    loop = asyncio.get_running_loop()
    while True:
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
        if loop.time() >= stop_at:
            break
        try:
            writer.write(request)
            status, body = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            counts.errors += 1
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            continue
        counts.probes += 1
        if status != 200 or b"\nprobe_success 1" not in body:
            counts.failures += 1
        due += 1.0
        if due < loop.time():
            due = loop.time()  # late: run again at once, as steward does
    writer.close()


async def drive_blackbox(pid, exporter, first_port, targets, warmup, seconds):
    host, port = exporter.rsplit(":", 1)
    port = int(port)
    counts = Counts()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    stop_at = start + warmup + seconds + 1
    tasks = [
        asyncio.create_task(target_loop(host, port, first_port + i, i / targets, start, stop_at, counts))
        for i in range(targets)
    ]
    await asyncio.sleep(start + warmup - loop.time())
    probes0, fails0 = counts.probes, counts.failures
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    probes1, fails1 = counts.probes, counts.failures
    rss = rss_kb(pid)
    await asyncio.gather(*tasks)
    if counts.errors:
        print("driver: %d connection errors" % counts.errors, file=sys.stderr)
    report(probes1 - probes0, fails1 - fails0, cpu1 - cpu0, rss, t1 - t0)


def main():
    mode = sys.argv[1]
    if mode == "steward":
        pid, url, warmup, seconds = int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
        measure_steward(pid, url, warmup, seconds)
    elif mode == "blackbox":
        pid, exporter = int(sys.argv[2]), sys.argv[3]
        first, targets, warmup, seconds = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
        asyncio.run(drive_blackbox(pid, exporter, first, targets, warmup, seconds))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
