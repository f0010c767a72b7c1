# ministack: the gateway and its default plugins, precompiled.
#
#   docker build -t ministack .
#   docker run --rm -p 4566:4566 ministack
#
# Build stage: the host and every plugin of plugins.toml (release), then the
# plugins' native code precompiled into the image's cache so a container is
# ready in milliseconds. With --build-arg PREBUILT=1 the stage takes the
# binary and .wasm files `make build` already made (target/), which is how
# scripts/docker-verify.sh checks the image quickly on a machine that has
# them; the default compiles from source.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
ARG PREBUILT=0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
RUN if [ "$PREBUILT" = 1 ]; then \
      test -x target/release/ministack || { echo "PREBUILT=1 needs target/release/ministack: run make build"; exit 1; }; \
    else \
      # jemalloc (the host's allocator) is built with make, which the
      # official rust:*-slim images lack.
      { command -v make >/dev/null || { apt-get update -q \
          && apt-get install -y -q --no-install-recommends make \
          && rm -rf /var/lib/apt/lists/*; }; } \
      && rustup target add wasm32-wasip2 \
      && cargo build --release -p ministack \
      && plugins=$(grep -oE 'plugin/[a-z0-9_-]+\.wasm' plugins.toml | sed -E 's|plugin/||; s|\.wasm||' | sed 's/^/-p /') \
      && cargo build --profile plugin --target wasm32-wasip2 $plugins; \
    fi \
 && mkdir -p /out/plugins /out/cache \
 && cp target/release/ministack /out/ \
 && for f in $(grep -oE 'target/wasm32-wasip2/plugin/[a-z0-9_-]+\.wasm' plugins.toml); do cp "$f" /out/plugins/; done \
 && sed -E 's|target/wasm32-wasip2/plugin/|plugins/|' plugins.toml > /out/plugins.toml \
 # Start once against the image's cache folder: loading compiles every
 # plugin into it; the first 200 on health means they are all in.
 && cd /out && { GATEWAY_PORT=4599 BIND_HOST=127.0.0.1 MINISTACK_CACHE_DIR=/out/cache STATE_DIR=/tmp/state ./ministack & pid=$!; \
      ok=0; for i in $(seq 1 1200); do sleep 0.1; \
        if (exec 3<>/dev/tcp/127.0.0.1/4599 && printf 'GET /_ministack/health HTTP/1.0\r\n\r\n' >&3 && grep -q '200 OK' <&3) 2>/dev/null; then ok=1; break; fi; done; \
      kill $pid; wait $pid || true; test $ok = 1; } \
 && test -n "$(ls /out/cache)"

FROM ${RUNTIME_IMAGE}
WORKDIR /opt/ministack
COPY --from=build /out/ /opt/ministack/
# Tooling for init hooks (/etc/localstack/init/<stage>.d, docs/init-hooks.md):
# Debian's aws CLI (v2.9, from apt: no PyPI/TLS needed at build time) with
# its API models trimmed to the services of plugins.toml (+ sts/sso for
# credentials, codedeploy/config/opsworkscm which the CLI loads at start)
# and no bundled examples, an `aws` shim that honours
# AWS_ENDPOINT_URL, and `awslocal`. Size: docs/init-hooks.md;
# --build-arg INIT_TOOLS=none leaves it out.
ARG INIT_TOOLS=aws
COPY scripts/awslocal /usr/local/bin/awslocal
COPY scripts/aws-endpoint-shim /usr/local/bin/aws
RUN if [ "$INIT_TOOLS" = aws ]; then \
      apt-get update -q \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends awscli \
      && cli=/usr/lib/python3/dist-packages/awscli \
      && keep=" sts sso sso-oidc codedeploy config opsworkscm $(sed -nE 's/^\[plugins\.([a-z0-9_-]+)\].*/\1/p' /opt/ministack/plugins.toml | tr '\n' ' ') " \
      && for d in "$cli"/botocore/data/*/; do n=$(basename "$d"); case "$keep" in *" $n "*) ;; *) rm -rf "$d" ;; esac; done \
      && rm -rf "$cli"/examples /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
      && aws --version; \
    else rm /usr/local/bin/aws /usr/local/bin/awslocal; fi \
 && mkdir -p /etc/localstack/init/boot.d /etc/localstack/init/start.d \
      /etc/localstack/init/ready.d /etc/localstack/init/shutdown.d
ENV GATEWAY_PORT=4566 \
    BIND_HOST=0.0.0.0 \
    MINISTACK_HOST=localhost \
    MINISTACK_CACHE_DIR=/opt/ministack/cache \
    STATE_DIR=/var/lib/ministack/state \
    S3_DATA_DIR=/var/lib/ministack/s3 \
    PERSIST_STATE=0 \
    S3_PERSIST=0 \
    LOG_LEVEL=info
EXPOSE 4566
HEALTHCHECK --interval=10s --timeout=2s --start-period=2s \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${GATEWAY_PORT} && printf 'GET /_ministack/health HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200 OK' <&3"]
CMD ["/opt/ministack/ministack"]
