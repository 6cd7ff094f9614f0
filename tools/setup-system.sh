#!/usr/bin/env bash
# What the tests need beyond Python packages: Node.js (the nodejs runtime),
# curl, RabbitMQ's tools; then start the machine's PostgreSQL, MariaDB and
# RabbitMQ if they are installed but stopped (there is no systemd here).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v rabbitmqctl >/dev/null 2>&1 || need_apt+=(rabbitmq-server)
if ((${#need_apt[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "Missing ${need_apt[*]}: install them (apt-get install ${need_apt[*]})." >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

tools/ensure-services.sh
