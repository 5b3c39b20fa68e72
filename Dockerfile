# Multi-stage build of the release binary into a minimal image that runs as a non-root user.
# Build:  docker build -t buildkite-mcp-server .
# Run:    docker run -i --rm -e BUILDKITE_API_TOKEN buildkite-mcp-server
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY graphql ./graphql
COPY src ./src
# The manifest declares the benchmark under tests/; copying it keeps every target resolvable.
COPY tests ./tests
RUN cargo build --release --locked && strip target/release/buildkite-mcp-server

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/buildkite-mcp-server /usr/local/bin/buildkite-mcp-server
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/buildkite-mcp-server"]
CMD ["stdio"]
