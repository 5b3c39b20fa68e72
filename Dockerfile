# The server as an image: one binary, the libraries it links, CA certificates and a non-root user on
# an empty base. Serves MCP on stdio by default.
#
#   docker build -t buildkite-mcp-server .
#   docker run -i --rm -e BUILDKITE_API_TOKEN buildkite-mcp-server
#
# The `build` stage compiles the release binary from source. Where base images cannot be pulled,
# scripts/image.sh builds the same runtime stage from a binary built on the host instead
# (`--build-arg ROOTFS=local`, which uses packaging/image/rootfs/ as laid out by rootfs.sh).
ARG ROOTFS=source

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY graphql ./graphql
COPY src ./src
# The manifest declares the benchmark under tests/; copying it keeps every target resolvable.
COPY tests ./tests
COPY packaging/image/rootfs.sh ./packaging/image/rootfs.sh
ARG BUILDKITE_MCP_COMMIT=unknown
RUN cargo build --release --locked \
 && packaging/image/rootfs.sh target/release/buildkite-mcp-server /rootfs

# The filesystem from the source build.
FROM scratch AS source
COPY --from=build /rootfs/ /rootfs/

# The filesystem laid out on the host by scripts/image.sh.
FROM scratch AS local
COPY packaging/image/rootfs/ /rootfs/

FROM ${ROOTFS} AS rootfs

FROM scratch AS runtime
COPY --from=rootfs /rootfs/ /
ENV HOME=/home/nonroot
USER 65532:65532
WORKDIR /home/nonroot
LABEL io.modelcontextprotocol.server.name="io.github.buildkite-mcp-rs/buildkite-mcp-server" \
      org.opencontainers.image.title="buildkite-mcp-server" \
      org.opencontainers.image.description="A token-efficient Model Context Protocol server for Buildkite" \
      org.opencontainers.image.licenses="MIT"
ENTRYPOINT ["/usr/local/bin/buildkite-mcp-server"]
CMD ["stdio"]
