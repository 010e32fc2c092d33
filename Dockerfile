# bearer-proxy container image.
#   docker build -t bearer-proxy .
#   docker run -v $PWD/proxy.conf:/etc/bearer-proxy/proxy.conf:ro -p 127.0.0.1:8080:8080 bearer-proxy
ARG SWIFT_IMAGE=swift:6.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product bearer-proxy \
    && install -D "$(swift build -c release --show-bin-path)/bearer-proxy" /out/bearer-proxy

FROM ${RUNTIME_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin bearer-proxy \
    && mkdir -p /etc/bearer-proxy
COPY --from=build /out/bearer-proxy /usr/local/bin/bearer-proxy
COPY proxy.conf.example /etc/bearer-proxy/proxy.conf.example
USER bearer-proxy
EXPOSE 8080 9901
ENTRYPOINT ["/usr/local/bin/bearer-proxy"]
CMD ["--config", "/etc/bearer-proxy/proxy.conf"]
