#!/usr/bin/env bash
# Builds the image from a locally made base (no registry needed), runs it
# with --network host and drives it with the aws CLI.
#
#   scripts/docker-verify.sh            # PREBUILT=1: uses target/ from `make build`
#   MODE=source scripts/docker-verify.sh  # compiles inside the build stage (slow)
#
# Exit 0 when every check passed; stops and removes what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${MODE:-prebuilt}
TAG=${TAG:-ministack:local}
export DOCKER_BUILDKIT=0   # the classic builder: no buildx plugin needed

docker info >/dev/null 2>&1 || { echo "no Docker engine answers (start dockerd)"; exit 2; }
if [[ $MODE == source ]]; then
    scripts/docker-local-base.sh --rust
    build_args=()
else
    scripts/docker-local-base.sh
    build_args=(--build-arg PREBUILT=1 --build-arg RUST_IMAGE=debian:bookworm-slim)
fi

echo "docker build ($MODE) ..."
docker build -q --network host "${build_args[@]}" -t "$TAG" . >/dev/null
docker image ls "$TAG" --format 'image {{.Repository}}:{{.Tag}} {{.Size}}'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
name=ministack-verify-$$
cid=$(docker run -d --rm --name "$name" --network host \
    -e GATEWAY_PORT="$port" -e BIND_HOST=127.0.0.1 "$TAG")
trap 'docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT

start=$(date +%s%N)
for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$port/_ministack/health" >/dev/null && break
    sleep 0.05
done
echo "ready after $(( ($(date +%s%N) - start) / 1000000 )) ms (container start included)"
curl -fs "http://127.0.0.1:$port/_ministack/health"; echo

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
aws_() { aws --endpoint-url "http://127.0.0.1:$port" --output json "$@"; }
set -x
aws_ sts get-caller-identity | grep -q '"Account": "000000000000"'
aws_ s3 mb s3://docker-verify
echo "hello from the container" > /tmp/$name.txt
aws_ s3 cp /tmp/$name.txt s3://docker-verify/hello.txt
aws_ s3 cp s3://docker-verify/hello.txt - | grep -q "hello from the container"
url=$(aws_ sqs create-queue --queue-name docker-verify --query QueueUrl --output text)
aws_ sqs send-message --queue-url "$url" --message-body ping >/dev/null
aws_ sqs receive-message --queue-url "$url" | grep -q '"Body": "ping"'
aws_ dynamodb create-table --table-name docker-verify --attribute-definitions AttributeName=pk,AttributeType=S \
    --key-schema AttributeName=pk,KeyType=HASH --billing-mode PAY_PER_REQUEST >/dev/null
aws_ dynamodb put-item --table-name docker-verify --item '{"pk":{"S":"a"},"v":{"N":"1"}}'
aws_ dynamodb get-item --table-name docker-verify --key '{"pk":{"S":"a"}}' | grep -q '"N": "1"'
set +x
rm -f /tmp/$name.txt
# The image's HEALTHCHECK uses the same endpoint; its first run is 10 s in.
docker exec "$cid" /bin/bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /_ministack/health HTTP/1.0\r\n\r\n' >&3 && grep -q '200 OK' <&3"
echo "docker-verify: OK"
