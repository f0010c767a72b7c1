# Two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
# Plugin crates named in the default bundle (target/.../plugin/<crate>.wasm)
# that exist in this tree (plugins/<crate>/).
PLUGINS := $(foreach p,$(shell grep -oE 'plugin/[a-z0-9_-]+\.wasm' plugins.toml | sed -E 's|plugin/||; s|\.wasm||'),$(if $(wildcard plugins/$(p)/Cargo.toml),$(p)))
TEST_PLUGINS := $(shell grep -oE 'plugin/[a-z0-9_-]+\.wasm' tests/plugins.toml | sed -E 's|plugin/||; s|\.wasm||')
PYTHON ?= python3

.PHONY: build run test test-plugins unit e2e fmt lint bench clean

## Build the host and every plugin of plugins.toml, release mode.
build:
	rustup target add wasm32-wasip2
	$(CARGO) build --release -p ministack
	$(CARGO) build --profile plugin --target wasm32-wasip2 $(addprefix -p ,$(PLUGINS))

## Build and start the gateway on GATEWAY_PORT (default 4566).
run: build
	./target/release/ministack

test-plugins: build
	$(CARGO) build --profile plugin --target wasm32-wasip2 $(addprefix -p ,$(TEST_PLUGINS))

## Every test: unit tests, protocol vectors, end-to-end tests with real clients.
test: test-plugins
	$(PYTHON) -m pip install -q --disable-pip-version-check -r tests/requirements.txt
	# botocore 1.31.56: the last release whose SQS speaks query (tests/e2e/test_sqs_query.py).
	test -d target/oldboto/botocore-1.31.56.dist-info || $(PYTHON) -m pip install -q --disable-pip-version-check --target target/oldboto botocore==1.31.56 boto3==1.28.56
	# The host's modules form no import cycle (docs/dispatch.md).
	$(PYTHON) scripts/import-graph.py > /dev/null || $(PYTHON) scripts/import-graph.py
	# Unit tests: the host and the crates it links in release (they share the
	# gateway's build); the SDK, codegen and plugins natively in the dev
	# profile (optimising ~25 plugin crates only to run their unit tests
	# cost ~15 min of CPU, the dev build ~6 with its dependencies).
	$(CARGO) test --release -p ministack -p ministack-protocol -p ministack-state -- --skip protocol_vectors
	$(CARGO) test --workspace --exclude ministack --exclude ministack-protocol --exclude ministack-state
	# The protocol vectors print one count line per protocol file.
	$(CARGO) test --release -p ministack-protocol --test vectors -- --nocapture protocol_vectors
	# A Docker engine for the container tests when one can run (never fails).
	bash scripts/test-docker-setup.sh
	# Headless Chromium + Selenium for the resource browser test (never fails).
	bash scripts/install-browser.sh
	# Go + the Debian-packaged AWS SDK for Go v2 for the Go client test (never fails).
	bash scripts/install-go-sdk.sh
	# Two workers, each with its own gateways; a file stays on one worker
	# (tests/e2e/conftest.py: pytest_collection_modifyitems). A passed test's
	# tmp_path is removed as it ends, not kept to the end of the run.
	$(PYTHON) -m pytest tests/e2e -q -rs -p no:cacheprovider -o tmp_path_retention_policy=failed --durations=15 -n 2 --dist loadgroup

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: build
	bash bench/run.sh

clean:
	$(CARGO) clean
