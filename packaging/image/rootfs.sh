#!/usr/bin/env bash
# Lays out the image's whole filesystem in OUT from a built binary: the binary, the shared libraries
# `ldd` names (glibc, libm, libgcc_s and the loader: the release binary is glibc-dynamic), the CA
# certificates the TLS verifier reads, and the passwd, group, hosts and nsswitch files of a non-root
# user. The Dockerfile's source build runs it in its build stage; scripts/image.sh runs it here on the
# binary built on this machine. Nothing else is in the image: no shell, no package manager.
#
# Usage: packaging/image/rootfs.sh BINARY OUT [CA_BUNDLE]
set -euo pipefail
bin=${1:?usage: rootfs.sh BINARY OUT [CA_BUNDLE]}
out=${2:?usage: rootfs.sh BINARY OUT [CA_BUNDLE]}
ca=${3:-/etc/ssl/certs/ca-certificates.crt}
[ -x "$bin" ] || { echo "rootfs.sh: $bin is not an executable" >&2; exit 1; }
[ -s "$ca" ] || { echo "rootfs.sh: no CA bundle at $ca (install ca-certificates)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs" "$out/tmp" "$out/home/nonroot"
install -m 0755 "$bin" "$out/usr/local/bin/buildkite-mcp-server"
# Every library the dynamic loader resolves, at the path it resolved it to (the loader included).
ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u | while read -r lib; do
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done
install -m 0644 "$ca" "$out/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$out/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$out/etc/hosts"
printf 'hosts: files dns\n' >"$out/etc/nsswitch.conf"
chmod 1777 "$out/tmp"
chown -R 65532:65532 "$out/home/nonroot" 2>/dev/null || true
echo "rootfs.sh: $(du -sh "$out" | cut -f1) in $out"
