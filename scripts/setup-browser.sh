#!/usr/bin/env bash
# Make sure headless Chromium is available for the real-browser tests (tests/browser/).
#
# Idempotent and fast when already done: if /usr/bin/chromium runs, nothing happens.
# Otherwise Debian's `chromium` package is installed with apt-get (needs root, as on CI).
# Playwright's own browser download (`playwright install`) cannot work on this network and
# is never used: the tests drive /usr/bin/chromium through the pip package `playwright`.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]] && "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; then
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "setup-browser: $CHROMIUM is missing and installing it needs root;" \
         "run: sudo apt-get update && sudo apt-get install -y chromium" >&2
    exit 1
fi

echo "setup-browser: installing Debian chromium (about 30 s)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
"$CHROMIUM" --headless --no-sandbox --version
