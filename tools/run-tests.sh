#!/usr/bin/env bash
# Set up and run the whole test suite: lint, unit, functional and compat tests.
# Needs root for the sandbox tests. Installs Node.js, curl and RabbitMQ's tools if
# missing and starts the machine's PostgreSQL, MariaDB and RabbitMQ if stopped
# (see doc/source/testing.rst); everything else is started by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-system.sh
tools/setup-venv.sh

.venv/bin/ruff check qinling tests bench tools
exec .venv/bin/pytest -p no:cacheprovider "$@" tests
