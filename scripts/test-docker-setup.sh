#!/usr/bin/env bash
# Gets a Docker engine for `make test` when it can, and never fails the run:
#
# - an engine already answers: it is used as is;
# - otherwise, in CI (CI=true, or MINISTACK_TEST_DOCKER=start) as root:
#   docker.io is installed with apt if dockerd is missing, and dockerd is
#   started in the background (left running: the CI machine is thrown away);
# - with an engine: a smoke run (the container tests' static server image,
#   a published port, one request) proves containers really run, and the
#   local base image (scripts/docker-local-base.sh) is made if absent.
#
# When there is no usable engine it writes why to
# target/test-docker/unavailable; the Docker tests then skip and print it.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/test-docker
LOG=target/test-docker/setup.log
MARK=target/test-docker/unavailable
rm -f "$MARK"
: >"$LOG"
say() { echo "test-docker-setup: $*"; }
engine() { timeout 10 docker info >/dev/null 2>&1; }
unusable() { echo "$1" >"$MARK"; say "$1; Docker tests will be skipped"; exit 0; }

if ! engine; then
    if [[ "${CI:-}" != "true" && "${MINISTACK_TEST_DOCKER:-}" != "start" ]]; then
        unusable "no Docker engine answers (outside CI nothing is started: run dockerd, or MINISTACK_TEST_DOCKER=start as root)"
    fi
    [[ $(id -u) == 0 ]] || unusable "no Docker engine answers and not root: cannot start dockerd"
    if ! command -v dockerd >/dev/null; then
        say "installing docker.io with apt ..."
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap; } >>"$LOG" 2>&1 \
            || unusable "apt-get install docker.io failed (see $LOG)"
    fi
    say "starting dockerd in the background (log: target/test-docker/dockerd.log)"
    nohup dockerd >target/test-docker/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do engine && break; sleep 0.5; done
    engine || unusable "dockerd did not answer within 30 s (see target/test-docker/dockerd.log)"
fi
say "Docker engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) answers"

# Smoke run: the container tests' image (FROM scratch + a static server, so
# no base image is needed), a port published on loopback, one request.
if ! command -v rustc >/dev/null; then unusable "no rustc to build the test server"; fi
rustc -O -C target-feature=+crt-static -C strip=symbols -o target/test-docker/tinyhttp \
    tests/e2e/docker/tinyhttp.rs >>"$LOG" 2>&1 || unusable "building the static test server failed (see $LOG)"
cp tests/e2e/docker/Dockerfile target/test-docker/Dockerfile
DOCKER_BUILDKIT=0 docker build -q -t ministack-test/tinyhttp:smoke target/test-docker >>"$LOG" 2>&1 \
    || unusable "docker build of the test image failed (see $LOG)"
cid=$(docker run -d -p 127.0.0.1::8000 ministack-test/tinyhttp:smoke 2>>"$LOG") \
    || unusable "docker run failed: the engine cannot run containers here (see $LOG)"
port=$(docker port "$cid" 8000/tcp 2>>"$LOG" | head -1 | sed 's/.*://')
served=no
for _ in $(seq 1 50); do
    if [[ -n "$port" ]] && curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1; then served=yes; break; fi
    sleep 0.1
done
docker rm -f "$cid" >/dev/null 2>&1
[[ $served == yes ]] || unusable "a test container's published port did not answer (see $LOG)"
say "containers run and publish ports: Docker tests will run"

# The Dockerfile's base for tests/e2e/test_docker.py (kept once made).
if docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    say "base image debian:bookworm-slim present"
elif [[ $(id -u) == 0 ]]; then
    if ! command -v debootstrap >/dev/null; then
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; } >>"$LOG" 2>&1
    fi
    if timeout 900 scripts/docker-local-base.sh >>"$LOG" 2>&1; then
        say "made the local base image debian:bookworm-slim"
    else
        say "making the local base image failed (see $LOG); test_docker.py will say so"
    fi
fi
exit 0
