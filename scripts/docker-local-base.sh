#!/usr/bin/env bash
# Makes the Dockerfile's base images locally, for machines that cannot pull
# from a registry: a debootstrap'ed Debian 12 minbase imported as
# `debian:bookworm-slim`, and with --rust also `rust:1.95-slim-bookworm`
# (that base plus gcc/make and this machine's Rust toolchain), so that
# `docker build .` works from source without a registry.
#
#   scripts/docker-local-base.sh [--rust]
#
# Needs root, debootstrap (apt-get install -y debootstrap) and a reachable
# Debian mirror (MIRROR, default deb.debian.org).
set -euo pipefail
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORK=${WORK:-/tmp/ministack-docker-base}
RUNTIME_TAG=debian:bookworm-slim
RUST_TAG=rust:1.95-slim-bookworm

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have_image "$RUNTIME_TAG"; then
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
    rm -rf "$WORK/rootfs"
    mkdir -p "$WORK"
    echo "debootstrap bookworm (minbase) into $WORK/rootfs ..."
    debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log"; exit 1; }
    rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
    tar -C "$WORK/rootfs" -c . | docker import - "$RUNTIME_TAG" >/dev/null
    echo "imported $RUNTIME_TAG"
fi

if [[ "${1:-}" == "--rust" ]] && ! have_image "$RUST_TAG"; then
    [[ -d "$WORK/rootfs" ]] || { echo "no $WORK/rootfs: remove $RUNTIME_TAG and rerun"; exit 1; }
    toolchain=$(rustc --print sysroot)
    rust="$WORK/rust-rootfs"
    rm -rf "$rust"
    cp -a "$WORK/rootfs" "$rust"
    cp /etc/resolv.conf "$rust/etc/resolv.conf"
    chroot "$rust" bash -c "apt-get update -q && apt-get install -y -q --no-install-recommends gcc libc6-dev make ca-certificates" >"$WORK/rust-apt.log" 2>&1 \
        || { tail -20 "$WORK/rust-apt.log"; exit 1; }
    rm -rf "$rust/var/cache/apt/archives/"*.deb "$rust/var/lib/apt/lists/"*
    # This machine's trusted CAs (a TLS-inspecting proxy's among them), so
    # cargo inside the build reaches crates.io the way the host does.
    cp /etc/ssl/certs/ca-certificates.crt "$rust/etc/ssl/certs/ca-certificates.crt"
    # The toolchain as rustup lays it out; rustup itself resolves `1.95.0`.
    mkdir -p "$rust/usr/local/rustup/toolchains" "$rust/usr/local/cargo/bin"
    cp -a "$toolchain" "$rust/usr/local/rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu"
    rm -rf "$rust/usr/local/rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu/share/doc"
    cp "$(command -v rustup)" "$rust/usr/local/cargo/bin/rustup"
    for tool in cargo rustc rustdoc; do ln -sf rustup "$rust/usr/local/cargo/bin/$tool"; done
    printf 'default_toolchain = "1.95.0-x86_64-unknown-linux-gnu"\nprofile = "minimal"\nversion = "12"\n' \
        >"$rust/usr/local/rustup/settings.toml"
    tar -C "$rust" -c . | docker import \
        -c 'ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$RUST_TAG" >/dev/null
    rm -rf "$rust"
    echo "imported $RUST_TAG"
fi
