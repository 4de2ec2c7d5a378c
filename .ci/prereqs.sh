#!/usr/bin/env bash
# Everything the test suite talks to, installed and running. Idempotent; installs only as root.
set -euo pipefail

need_pkgs=()
for pkg in dovecot-core dovecot-imapd dovecot-pop3d dovecot-pgsql dovecot-sqlite chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$pkg")
done
if ((${#need_pkgs[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "Missing Debian packages: ${need_pkgs[*]} (run as root, or install them)." >&2
    exit 1
  fi
  echo "Installing ${need_pkgs[*]}"
  apt-get update -q
  # The packaged dovecot service must not grab the standard ports: tests start their own.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" fonts-dejavu-core
fi
# Debian starts the packaged Dovecot after install when it can; ours are private instances.
if pgrep -x dovecot >/dev/null && [[ -f /run/dovecot/master.pid ]]; then
  kill "$(cat /run/dovecot/master.pid)" 2>/dev/null || true
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "Starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
redis-cli -h 127.0.0.1 -p 6379 ping
