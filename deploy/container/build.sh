#!/bin/sh
# Build the Latchkey container image described by deploy/Containerfile.
#
#   deploy/container/build.sh [TAG]            default tag: latchkey:dev
#
# Environment: BUILDER (podman, the default; buildah; docker), VERSION (the
# version the binary reports; default: git describe), GO (default: go),
# BINARY (a static latchkey binary to ship instead of building one).
#
# It compiles a static binary (CGO_ENABLED=0; the SQLite driver is pure Go),
# lays out the small build context the Containerfile expects in a temporary
# directory, and builds FROM scratch: no base image is pulled.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:-latchkey:dev}
builder=${BUILDER:-podman}
go=${GO:-go}
version=${VERSION:-$(git -C "$repo" describe --tags --always --dirty 2>/dev/null || echo dev)}
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT INT TERM

if [ -n "${BINARY:-}" ]; then
  cp "$BINARY" "$ctx/latchkey"
else
  (cd "$repo" && CGO_ENABLED=0 "$go" build -trimpath -ldflags "-s -w -X main.version=$version" \
    -o "$ctx/latchkey" ./cmd/latchkey)
fi

mkdir -p "$ctx/data" "$ctx/rootfs/tmp" "$ctx/rootfs/etc/ssl/certs"
chmod 0700 "$ctx/data"
chmod 1777 "$ctx/rootfs/tmp"
cas=/etc/ssl/certs/ca-certificates.crt
if [ -r "$cas" ]; then
  cp "$cas" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
else
  echo "build.sh: $cas not found (Debian package ca-certificates): the image will trust no TLS server (SMTP, webhooks, OIDC)" >&2
fi
cp "$repo/deploy/Containerfile" "$ctx/Containerfile"

set -- --build-arg "VERSION=$version" --build-arg "REVISION=$revision" -t "$tag" -f "$ctx/Containerfile"
case "$builder" in
  podman|buildah) "$builder" build --format docker --layers=false "$@" "$ctx" ;;  # docker format keeps HEALTHCHECK
  docker) docker build "$@" "$ctx" ;;
  *) echo "build.sh: BUILDER must be podman, buildah or docker, not $builder" >&2; exit 1 ;;
esac
echo "built $tag (latchkey $version)"
