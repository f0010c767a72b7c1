#!/usr/bin/env bash
# Go and the AWS SDK for Go v2 for tests/e2e/test_client_go.py, from apt
# (as root, when missing): no Go module proxy is reachable, Debian packages
# the SDK's source under /usr/share/gocode. Never fails the run: when they
# cannot be installed the Go test skips and says why
# (target/clients-go/unavailable).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/clients-go
MARK=target/clients-go/unavailable
LOG=target/clients-go/install.log
rm -f "$MARK"
: >"$LOG"
unusable() { echo "$1" >"$MARK"; echo "install-go-sdk: $1; the Go SDK test will be skipped"; exit 0; }

PACKAGES="golang-go golang-github-aws-aws-sdk-go-v2-dev"
if ! command -v go >/dev/null || [[ ! -d /usr/share/gocode/src/github.com/aws/aws-sdk-go-v2 ]]; then
    [[ $(id -u) == 0 ]] || unusable "go or the Go SDK missing and not root: cannot apt-get install $PACKAGES"
    echo "install-go-sdk: installing $PACKAGES with apt ..."
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES; } >>"$LOG" 2>&1 \
        || unusable "apt-get install $PACKAGES failed (see $LOG)"
fi
echo "install-go-sdk: $(go version), aws-sdk-go-v2 $(dpkg-query -W -f '${Version}' golang-github-aws-aws-sdk-go-v2-dev 2>/dev/null)"
