#!/usr/bin/env bash
# Create .venv (if needed) and install Qinling with its test requirements.
# Idempotent and quiet when nothing changed; used by run-server.sh and run-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-}
if [[ -z "$PYTHON" ]]; then
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            PYTHON=$candidate
            break
        fi
    done
fi
if [[ -z "$PYTHON" ]]; then
    echo "Qinling needs Python 3.11 or newer; none found on PATH." >&2
    exit 1
fi

if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.qinling-installed
want=$(cat requirements.txt test-requirements.txt setup.cfg | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    .venv/bin/pip install -q --disable-pip-version-check -U pip setuptools wheel 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -r test-requirements.txt 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -c 'import qinling.bootstrap' 
    echo "$want" > "$stamp"
fi
