# bearer-proxy container image: a statically linked Swift runtime on slim Debian, non-root.
#   docker build -t bearer-proxy .
#   docker run -v $PWD/proxy.conf:/etc/bearer-proxy/proxy.conf:ro -p 127.0.0.1:8080:8080 bearer-proxy
# Base images are build arguments so a mirror or a pinned digest can be used without editing this file.
# CI builds this file unchanged with buildah against local stand-ins (scripts/image-build.sh).
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev libyaml-dev libhiredis-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Manifest first: a code-only change does not invalidate the dependency resolution layer.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
COPY scripts/build-release.sh scripts/link-order.txt ./scripts/
# Swift's runtime, OpenSSL, libyaml, hiredis and libstdc++ linked in (the script says why and checks it):
# the binary needs only glibc where it runs.
RUN scripts/build-release.sh .build \
    && install -D -s .build/release/bearer-proxy /out/bearer-proxy

FROM ${RUNTIME_IMAGE}
# apt's package caches (/var/cache/apt/*.bin, tens of MB) go too, whether or not the base image
# is configured to drop them.
# ca-certificates: the system trust store (its dependency, the openssl package, provides the
# /usr/lib/ssl paths OpenSSL looks in by default).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && groupadd --gid 10001 bearer-proxy \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin bearer-proxy \
    && mkdir -p /etc/bearer-proxy
COPY --from=build /out/bearer-proxy /usr/local/bin/bearer-proxy
COPY proxy.conf.example /etc/bearer-proxy/proxy.conf.example
# Numeric user, so Kubernetes runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# 8080: the proxy (listen), 9901: the admin endpoints (admin.listen) - both as in proxy.conf.example.
EXPOSE 8080 9901
# No curl in the image: the binary asks the admin /healthz named by its own config.
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/bearer-proxy", "healthcheck", "--config", "/etc/bearer-proxy/proxy.conf"]
ENTRYPOINT ["/usr/local/bin/bearer-proxy"]
CMD ["--config", "/etc/bearer-proxy/proxy.conf"]
