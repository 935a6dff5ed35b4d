#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on loopback: start them if installed but stopped,
# install them from Debian's packages if absent. Idempotent; safe to run every time.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local tries=$(( ${2:-30} * 2 ))
  for _ in $(seq 1 "$tries"); do port_open "$1" && return 0; sleep 0.5; done
  echo "services: nothing answers on 127.0.0.1:$1 after ${2:-30} s" >&2
  return 1
}
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The dashboard's end-to-end test drives `gello queue:monitor` in a real terminal.
command -v tmux >/dev/null || apt_install tmux
# ... and in a real browser (queue:monitor --web): Playwright drives Debian's Chromium.
[ -x /usr/bin/chromium ] || apt_install chromium

if ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  wait_port 6379
fi

if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    echo "services: PostgreSQL is installed but has no cluster" >&2
    exit 1
  fi
  conf="/etc/postgresql/$version/main"
  # Tests connect over loopback as postgres without a password.
  if ! grep -q "gello-ci" "$conf/pg_hba.conf"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust # gello-ci\nhost all all ::1/128 trust # gello-ci' "$conf/pg_hba.conf"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 5432
fi

if ! port_open 5672; then
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  as_root service rabbitmq-server start >/dev/null 2>&1 || as_root rabbitmq-server -detached
  wait_port 5672 90
fi
# The port opens before the broker accepts work: wait until it answers (90 s at most).
for i in $(seq 1 90); do
  as_root rabbitmqctl -q await_startup >/dev/null 2>&1 && break
  if [ "$i" = 90 ]; then echo "services: RabbitMQ does not finish starting" >&2; exit 1; fi
  sleep 1
done

# The test database, created once.
if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
fi
echo "services: PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1"
