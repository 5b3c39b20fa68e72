#!/usr/bin/env bash
# Builds the Claude Desktop bundle (MCPB) for this machine's platform (Linux x86_64 here; the release
# pipeline builds macOS and Windows bundles the same way on their hosts): stages
# packaging/mcpb/manifest.json with the release binary under server/, then validates and packs it with
# Anthropic's `mcpb` CLI (npm `@anthropic-ai/mcpb`, installed into target/ on first use), and prints
# the bundle's size and SHA-256 (the `fileSha256` an MCP registry `mcpb` package entry needs).
#
# Usage: scripts/mcpb.sh [BINARY]   (default: target/release/buildkite-mcp-server, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/buildkite-mcp-server}
if [ ! -x "$bin" ]; then
  cargo build --release --locked 2>&1 | tail -1
fi
tools=target/mcpb-cli
if [ ! -x "$tools/node_modules/.bin/mcpb" ]; then
  command -v npm >/dev/null || { echo "mcpb.sh: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }
  mkdir -p "$tools"
  npm install --silent --prefix "$tools" @anthropic-ai/mcpb@2.1.2 >/dev/null
fi
mcpb="$tools/node_modules/.bin/mcpb"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
os=$(uname -s | tr '[:upper:]' '[:lower:]'); arch=$(uname -m)
stage=target/mcpb/stage
out=target/mcpb/buildkite-mcp-server-$version-$os-$arch.mcpb
rm -rf "$stage" && mkdir -p "$stage/server"
cp packaging/mcpb/manifest.json "$stage/manifest.json"
install -m 0755 "$bin" "$stage/server/buildkite-mcp-server"
cp LICENSE "$stage/" 2>/dev/null || true
echo "== mcpb validate"
"$mcpb" validate "$stage/manifest.json"
echo "== mcpb pack"
"$mcpb" pack "$stage" "$out"
echo "== bundle"
printf 'file:   %s\n' "$out"
printf 'size:   %s bytes\n' "$(stat -c %s "$out")"
printf 'sha256: %s\n' "$(sha256sum "$out" | cut -d' ' -f1)"
