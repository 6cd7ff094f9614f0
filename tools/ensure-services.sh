#!/usr/bin/env bash
# Start the machine's PostgreSQL, MariaDB and RabbitMQ if they are not running
# (there is no systemd here); the tests create their own databases and vhosts.
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 1; done
    echo "Service on port $1 did not come up" >&2
    return 1
}

if ! port_open 5432 && command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    wait_port 5432
fi
if ! port_open 3306 && [[ -x /usr/sbin/mariadbd ]]; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_port 3306
fi
if ! port_open 5672 && command -v rabbitmq-server >/dev/null; then
    rabbitmq-server -detached
    wait_port 5672
fi
exit 0
