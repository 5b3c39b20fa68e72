#!/usr/bin/env bash
# Exercises every install route as far as this machine allows, installing what each needs:
#   formulas   `ruby -c` on the in-repo formula and on the release formula cargo-dist writes, then
#              the in-repo formula's install and test commands run outside Homebrew;
#   registry   server.json against packaging/registry/server.schema.json (Python jsonschema);
#   dist       `dist plan` (every target and artifact) and `dist build` of this host's archive,
#              its checksum verified (cargo-dist 0.34 is built from crates.io on first use: slow);
#   mcpb       scripts/mcpb.sh (validate and pack the Claude Desktop bundle for this platform);
#   image      scripts/image.sh (the runtime image from the local binary, run inside its filesystem).
# Usage: scripts/release-check.sh [formulas|registry|dist|mcpb|image]...   (default: all of them)
# CI runs `FORMULA_BIN=target/debug/buildkite-mcp-server scripts/release-check.sh formulas registry`
# (quick); the rest need minutes and are run before a release.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(formulas registry dist mcpb image)
need_apt() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

formulas() {
  echo "== formulas"
  need_apt ruby ruby
  ruby -c Formula/buildkite-mcp-server.rb
  if [ -f target/distrib/buildkite-mcp-server.rb ]; then
    ruby -c target/distrib/buildkite-mcp-server.rb
  else
    echo "(the release formula is checked by the dist step, which writes it)"
  fi
  # The formula's install and test blocks, outside Homebrew: install into a temporary prefix,
  # write the completions and man page as the formula does, then its two test commands.
  # FORMULA_BIN (CI: the binary `cargo test` built) stands in for the formula's `cargo install`.
  prefix=$(mktemp -d)
  if [ -n "${FORMULA_BIN:-}" ]; then
    mkdir -p "$prefix/bin" && cp "$FORMULA_BIN" "$prefix/bin/"
  else
    cargo install --locked --quiet --root "$prefix" --path .
  fi
  bin="$prefix/bin/buildkite-mcp-server"
  for shell in bash zsh fish powershell; do "$bin" completions "$shell" >"$prefix/completions.$shell"; done
  "$bin" man >"$prefix/buildkite-mcp-server.1"
  "$bin" --version | grep -Eq "^buildkite-mcp-server $version \(commit ([0-9a-f]+|unknown)\)$"
  "$bin" call get_build build=acme/web/1342 --demo | tr -d ' \n' | grep -q '"build":"acme/web/1342"'
  echo "formula commands: installed $("$bin" --version), completions $(wc -c <"$prefix/completions.bash") B (bash), man page $(wc -l <"$prefix/buildkite-mcp-server.1") lines, demo call ok"
  rm -rf "$prefix"
}

registry() {
  echo "== registry (server.json)"
  python3 -c 'import jsonschema' 2>/dev/null || pip install --quiet jsonschema 2>/dev/null || pip install --quiet --break-system-packages jsonschema
  python3 - <<'PY'
import json, jsonschema
schema = json.load(open("packaging/registry/server.schema.json"))
jsonschema.Draft202012Validator.check_schema(schema)
check = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
server = json.load(open("server.json"))
check.validate(server)
# The schema must also refuse what the registry refuses.
for broken in ({**server, "version": "latest"}, {**server, "name": "no-slash"}, {**server, "description": "x" * 101}):
    assert not check.is_valid(broken), broken
print(f"server.json valid: {server['name']} {server['version']}, {len(server['packages'])} package(s)")
PY
}

dist_step() {
  echo "== dist"
  command -v dist >/dev/null || cargo install --locked --quiet cargo-dist --version 0.34.0
  dist plan
  dist build --artifacts=all --target x86_64-unknown-linux-gnu
  (cd target/distrib && sha256sum -c buildkite-mcp-server-x86_64-unknown-linux-gnu.tar.xz.sha256)
  ls -l target/distrib/
  formulas_release=target/distrib/buildkite-mcp-server.rb
  need_apt ruby ruby
  ruby -c "$formulas_release"
}

for step in "${steps[@]}"; do
  case "$step" in
    formulas) formulas ;;
    registry) registry ;;
    dist) dist_step ;;
    mcpb) scripts/mcpb.sh ;;
    image) scripts/image.sh ;;
    *) echo "release-check.sh: unknown step $step (formulas, registry, dist, mcpb, image)" >&2; exit 2 ;;
  esac
done
echo "release-check.sh: ok (${steps[*]})"
