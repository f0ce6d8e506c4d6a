# Build stage: the release binary (links libpq and OpenSSL).
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock diesel.toml ./
# The whole workspace's manifests and targets must be there for cargo to
# read it, though only the service is built.
COPY bench bench
COPY examples examples
COPY tests tests
COPY src src
# The public pages: askama templates and assets, compiled into the binary.
COPY templates templates
COPY assets assets
COPY migrations migrations
COPY seed_articles seed_articles
RUN cargo build --release --locked -p claimledger --bin claimledger

# Runtime stage: the binary, libpq, and the seed corpus.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app claimledger
WORKDIR /app
COPY --from=build /src/target/release/claimledger /usr/local/bin/claimledger
COPY seed_articles seed_articles
USER claimledger
ENV CLAIMLEDGER_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["claimledger"]
CMD ["serve"]
