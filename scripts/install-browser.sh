#!/usr/bin/env bash
# A headless browser for tests/e2e/test_browser.py: chromium and its driver
# from apt (as root, when missing) and Selenium from PyPI. Never fails the
# run: when nothing can be installed the browser test skips and says why
# (target/test-browser/unavailable).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/test-browser
MARK=target/test-browser/unavailable
LOG=target/test-browser/install.log
rm -f "$MARK"
: >"$LOG"
unusable() { echo "$1" >"$MARK"; echo "install-browser: $1; the browser test will be skipped"; exit 0; }

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    [[ $(id -u) == 0 ]] || unusable "chromium/chromedriver missing and not root: cannot apt-get install them"
    echo "install-browser: installing chromium and chromium-driver with apt ..."
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; } >>"$LOG" 2>&1 \
        || unusable "apt-get install chromium chromium-driver failed (see $LOG)"
fi
python3 -c 'import selenium' 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check selenium >>"$LOG" 2>&1 \
    || unusable "pip install selenium failed (see $LOG)"
echo "install-browser: $(chromium --version 2>/dev/null | head -1), selenium $(python3 -c 'import selenium; print(selenium.__version__)')"
