# Shared pieces of the daemon and admin benches (sourced): Debian tools, a throwaway cluster, /proc figures.
# shellcheck shell=bash

# need PACKAGE TOOL...: installs PACKAGE from Debian when one of the tools is missing.
need() {
  local pkg=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    [ "$(id -u)" = 0 ] || { echo "bench: $tool not found; apt-get install $pkg (as root)" >&2; exit 2; }
    echo "bench: installing $pkg from Debian" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null ||
      { echo "bench: apt-get install $pkg failed" >&2; exit 2; }
    return
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The first of COUNT consecutive loopback ports that are all free.
free_port_range() {
  python3 - "$1" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 32000 - count)
    socks = []
    try:
        for p in range(base, base + count):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free range of %d ports" % count)
PY
}

PGBIN=/usr/lib/postgresql/15/bin
# pg_start DIR: a throwaway cluster in DIR (chowned to postgres); sets PG_URL to its postgres database.
pg_start() {
  local dir=$1 port
  [ -x "$PGBIN/initdb" ] || { echo "bench: $PGBIN/initdb not found (apt-get install postgresql-15)" >&2; exit 2; }
  port=$(free_port)
  mkdir -p "$dir/data"
  chown postgres "$dir" "$dir/data"
  runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
  PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  PG_DIR=$dir
}
pg_stop() { [ -n "${PG_DIR:-}" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true; }

# rss_kb PID: resident set (VmRSS) in KiB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_seconds PID: user + system CPU time of the whole process so far.
cpu_seconds() {
  python3 -c 'import os,sys; f=open("/proc/%s/stat" % sys.argv[1]).read().rsplit(")",1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK"))' "$1"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maximum() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -n 1; }
load_average() { cut -d' ' -f1-3 /proc/loadavg; }
