#!/usr/bin/env bash
# Set up and start qinling-server on its embedded defaults: SQLite, local
# sandboxes, packages on disk, API on http://127.0.0.1:7070 (see README.rst).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-venv.sh

state=${QINLING_STATE_DIR:-$PWD/state}
mkdir -p "$state"
conf=$state/qinling.conf
if [[ ! -f $conf ]]; then
    cat > "$conf" <<CONF
[DEFAULT]
state_dir = $state

[api]
host = 127.0.0.1
port = 7070
CONF
fi
exec .venv/bin/qinling-server --config-file "$conf" "$@"
