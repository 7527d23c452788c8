# Entry points for humans and CI; README and .ci/run call these targets, not cargo directly.

CARGO ?= cargo
# The one test command: README, CI and `make test` all run exactly this.
TEST_CMD = $(CARGO) test --workspace --no-fail-fast -- --test-threads=4

.PHONY: build test test-faults api-fuzz helm-test lint fuzz run bench clean

build:
	$(CARGO) build --workspace

# Integration tests spawn the built binaries (target/<profile>/molt-lms), so build first.
test: build
	$(TEST_CMD)

# The fault-injection scenarios alone (they are part of `make test` too).
test-faults: build
	$(CARGO) test -p molt-lms-integration --test faults --test control_plane -- --test-threads=4

# The orchestrator's REST API against its OpenAPI document: schemathesis, no 5xx, documented
# schemas, JSON 4xx (scripts/api-fuzz.sh; about 30 s once built and installed).
api-fuzz:
	$(CARGO) build -p molt-lms-orchestrator --bin molt-lms-orchestrator
	./scripts/api-fuzz.sh

# The Helm chart rendered, linted and schema-checked offline, and the Dockerfile linted
# (helm/test.sh; no cluster needed; about 2 s once its virtualenv is installed).
helm-test:
	./helm/test.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	.ci/protocol-seam

# The codecs' fuzz targets, FUZZ_SECONDS (default 60) each; fails on any crash (fuzz/run.sh).
fuzz:
	./fuzz/run.sh

run:
	./scripts/dev.sh

bench:
	./bench/run.sh

clean:
	$(CARGO) clean
	rm -rf bench-out
