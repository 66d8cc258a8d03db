#!/usr/bin/env python3
"""The reference row of the restart bench: the least a supervisor can do on this machine right now.

Usage: respawn_loop.py PROGRAM ARG...
Runs the program, waits for its exit on a pidfd, runs it again at once; nothing else. Its restart
latency is the machine's floor (scheduling, fork, exec, the program's own start) at this moment.
"""
import os
import select
import subprocess
import sys

while True:
    child = subprocess.Popen(sys.argv[1:], close_fds=True)
    fd = os.pidfd_open(child.pid)
    select.select([fd], [], [])
    os.close(fd)
    child.wait()
