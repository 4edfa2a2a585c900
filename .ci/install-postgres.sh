#!/usr/bin/env bash
# PostgreSQL server binaries for tests/test_backends.py, which starts its own throwaway
# cluster on loopback (no system service is started or configured here).
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
  echo "PostgreSQL server binaries present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# Debian's package starts a main cluster; the tests do not need it.
$SUDO service postgresql stop >/dev/null 2>&1 || true
ls /usr/lib/postgresql/*/bin/initdb
