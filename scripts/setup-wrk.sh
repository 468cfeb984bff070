#!/usr/bin/env bash
# The HTTP load generator `make bench` drives both model servers with (Debian's wrk).
# Idempotent: installs nothing when wrk is already on PATH. Bench only; the tests do not need it.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk
