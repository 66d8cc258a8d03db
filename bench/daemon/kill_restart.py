#!/usr/bin/env python3
"""Restart latency: kill -9 a supervised program, time until its replacement wrote its pid file.

Usage: kill_restart.py TRIALS SETTLE_SECONDS LABEL=PIDFILE...
The supervisors take turns within each trial, so machine noise falls on all of them alike. Before each
kill every program has run for SETTLE_SECONDS (a stable run, not a crash loop). The new process is seen
through inotify (IN_CLOSE_WRITE on the pid file's folder): no polling interval in the figure.
Prints one line per supervisor: LABEL ms ms ms ...
"""
import ctypes
import os
import select
import signal
import struct
import sys
import time

IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
libc = ctypes.CDLL("libc.so.6", use_errno=True)


def read_pid(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text else 0
    except (OSError, ValueError):
        return 0


def alive(pid):
    return pid > 0 and os.path.exists("/proc/%d" % pid)


class Watch:
    def __init__(self, pidfile):
        self.pidfile = pidfile
        self.fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        folder = os.path.dirname(os.path.abspath(pidfile)).encode()
        if libc.inotify_add_watch(self.fd, folder, IN_CLOSE_WRITE | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def drain(self):
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass

    def wait_new(self, old, timeout):
        """Returns the first live pid other than `old` written to the pid file, or 0 after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            pid = read_pid(self.pidfile)
            if pid and pid != old and alive(pid):
                return pid
            left = deadline - time.monotonic()
            if left <= 0:
                return 0
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                self.drain()


def main():
    trials, settle = int(sys.argv[1]), float(sys.argv[2])
    tools = [arg.split("=", 1) for arg in sys.argv[3:]]
    watches = {label: Watch(path) for label, path in tools}
    results = {label: [] for label, _ in tools}
    for label, path in tools:
        if not watches[label].wait_new(0, 30):
            sys.exit("kill_restart: %s never wrote %s" % (label, path))
    for _ in range(trials):
        time.sleep(settle)
        for label, path in tools:
            w = watches[label]
            old = read_pid(path)
            w.drain()
            t0 = time.monotonic()
            os.kill(old, signal.SIGKILL)
            new = w.wait_new(old, 30)
            t1 = time.monotonic()
            if not new:
                sys.exit("kill_restart: %s did not restart its program within 30 s" % label)
            results[label].append((t1 - t0) * 1000)
    for label, _ in tools:
        print(label, " ".join("%.2f" % ms for ms in results[label]))


if __name__ == "__main__":
    main()
