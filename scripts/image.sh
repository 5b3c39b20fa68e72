#!/usr/bin/env bash
# Builds the image's runtime stage from the binary built on this machine and exercises it:
#   1. `cargo build --release`, then packaging/image/rootfs.sh lays out the image's filesystem
#      (the binary, the libraries it links, CA certificates, a non-root user);
#   2. `podman build --target runtime --build-arg ROOTFS=local` (the Dockerfile's `build` stage, the
#      one users run, is skipped: it needs the rust base image, which cannot be pulled here);
#   3. mounts the image and, inside its filesystem (chroot as uid 65532, since `podman run` cannot
#      start containers on this machine), runs `--version`, MCP `initialize` and a demo tool call over
#      stdio, and a name lookup (`localhost` through the image's /etc/hosts and nsswitch.conf) with a
#      connection to a loopback HTTP server;
#   4. prints the image's size, user and MCP registry label.
# Not exercised here: the source build stage (pulling rust:…-slim), a TLS handshake with real
# Buildkite, and `docker run` itself.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${IMAGE_TAG:-buildkite-mcp-server:local}

if ! command -v podman >/dev/null; then
  echo "== installing podman (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null
fi

# IMAGE_BINARY: an already built release binary (e.g. cargo-dist's target/dist/…) instead of a build.
bin=${IMAGE_BINARY:-target/release/buildkite-mcp-server}
if [ -z "${IMAGE_BINARY:-}" ]; then
  echo "== release binary"
  cargo build --release --locked 2>&1 | tail -1
fi
rootfs=packaging/image/rootfs
packaging/image/rootfs.sh "$bin" "$rootfs"

echo "== podman build (runtime stage, local binary)"
podman build --quiet --isolation chroot --build-arg ROOTFS=local --target runtime -t "$tag" . >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$tag")
user=$(podman image inspect --format '{{.Config.User}}' "$tag")
label=$(podman image inspect --format '{{index .Config.Labels "io.modelcontextprotocol.server.name"}}' "$tag")
entry=$(podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$tag")

mnt=$(podman image mount "$tag")
cleanup() {
  podman image unmount "$tag" >/dev/null 2>&1 || true
  [ -n "${http_pid:-}" ] && kill "$http_pid" 2>/dev/null || true
}
trap cleanup EXIT
chroot_bin=$(command -v chroot)
# The image's own environment only: HOME as the image sets it, nothing of this shell's.
inside() { env -i HOME=/home/nonroot "$chroot_bin" --userspec=65532:65532 "$mnt" /usr/local/bin/buildkite-mcp-server "$@"; }

echo "== inside the image: --version"
inside --version

echo "== inside the image: initialize and a demo call (stdio)"
requests='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"image.sh","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_build","arguments":{"build":"acme/web/1342"}}}'
answers=$( (printf '%s\n' "$requests"; sleep 2) | inside --demo)
init=$(printf '%s\n' "$answers" | grep '"id":1' | head -1)
call=$(printf '%s\n' "$answers" | grep '"id":2' | head -1)
printf 'initialize: %s\n' "$(printf '%s' "$init" | cut -c1-300)"
printf 'get_build:  %s\n' "$(printf '%s' "$call" | cut -c1-300)"
printf '%s' "$init" | grep -q '"serverInfo"' || { echo "image.sh: no initialize answer" >&2; exit 1; }
printf '%s' "$call" | grep -q 'acme/web/1342' || { echo "image.sh: no demo answer" >&2; exit 1; }

echo "== inside the image: name lookup and a connection (localhost, loopback HTTP server)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        body = b'{"message":"Authentication required"}'
        self.send_response(401); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    do_GET = do_POST = do_HEAD = answer
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
http_pid=$!
sleep 1
lookup=$(inside --token not-a-real-token --api-url "http://localhost:$port/" --graphql-url "http://localhost:$port/graphql" tools 2>&1 || true)
printf '%s\n' "$lookup" | head -3
printf '%s' "$lookup" | grep -qi '401\|rejected' || { echo "image.sh: the lookup of localhost or the connection failed" >&2; exit 1; }

echo "== image"
printf 'tag:        %s\n' "$tag"
printf 'size:       %s bytes (%s MiB)\n' "$size" "$((size / 1024 / 1024))"
printf 'user:       %s\n' "$user"
printf 'entrypoint: %s\n' "$entry"
printf 'label:      io.modelcontextprotocol.server.name=%s\n' "$label"
name=$(python3 -c 'import json; print(json.load(open("server.json"))["name"])')
[ "$label" = "$name" ] || { echo "image.sh: label $label is not server.json's name $name" >&2; exit 1; }
echo "image.sh: ok"
