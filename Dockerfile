# syntax=docker/dockerfile:1
# The molt-lms image: the proxy (molt-lms, the entry point), molt-lms-orchestrator and
# molt-lms-cli, built from this workspace. The Helm chart (helm/molt-lms) runs it.
#   docker build -t molt-lms:0.1.0 .

# The toolchain rust-toolchain.toml pins, so rustup has nothing to fetch.
ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target caches survive between builds (BuildKit); the binaries are
# copied out of the cached target directory before the step ends. The release profile's
# line tables (debug = 1) are stripped: about 75 MB per binary down to 15; the symbols
# stay, so a backtrace still names its functions.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p molt-lms -p molt-lms-orchestrator -p molt-lms-cli \
        --bin molt-lms --bin molt-lms-orchestrator --bin molt-lms-cli \
 && mkdir -p /out \
 && cp target/release/molt-lms target/release/molt-lms-orchestrator target/release/molt-lms-cli /out/ \
 && strip --strip-debug /out/molt-lms /out/molt-lms-orchestrator /out/molt-lms-cli

FROM debian:bookworm-slim
# ca-certificates: the system roots the HTTPS clients trust when no CA file is given
# (molt-lms-cli, control-plane calls); database TLS uses sslrootcert or built-in roots.
# The package version follows the Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 molt \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin molt
COPY --from=build /out/molt-lms /out/molt-lms-orchestrator /out/molt-lms-cli /usr/local/bin/
WORKDIR /app
# A numeric user, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# proxy: 9043 SQL, 9044 metrics/health, 9045 control API; orchestrator: 4200 API, 4201 metrics/health
EXPOSE 9043 9044 9045 4200 4201
ENTRYPOINT ["molt-lms"]
