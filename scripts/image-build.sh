#!/usr/bin/env bash
# Builds the project's Dockerfile with buildah and smoke-tests the image, without a Docker engine
# and without pulling anything from a container registry (none is reachable here).
#
# The Dockerfile names official base images (swift:X-bookworm, debian:bookworm-slim). This script
# makes local stand-ins under those exact names, so the unchanged Dockerfile builds:
#   debian:bookworm-slim   debootstrap --variant=minbase of Debian bookworm
#   swift:X-bookworm       bookworm + the libraries the toolchain needs, with this machine's
#                          toolchain (/opt/swift) and Swift package copies (/opt/swift-packages)
#                          mounted read-only into RUN steps with --volume, not copied (3+ GB).
# Everything lives in one temporary folder that is removed at exit; nothing is cached between runs.
#
# Bounded: each phase runs under `timeout`; the whole script is meant to stay under 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SWIFT_TAG=$(sed -n 's/^ARG SWIFT_IMAGE=//p' Dockerfile)
RUNTIME_TAG=$(sed -n 's/^ARG RUNTIME_IMAGE=//p' Dockerfile)
WORK=$(mktemp -d /var/tmp/bearer-proxy-image.XXXXXX)
STORE=(--storage-driver vfs --root "$WORK/storage" --runroot "$WORK/run")
START=$SECONDS

log() { printf '[image-build %4ds] %s\n' "$((SECONDS - START))" "$*"; }
cleanup() {
  # vfs layers are plain directories; buildah must unmount before they can go.
  buildah "${STORE[@]}" rm --all >/dev/null 2>&1 || true
  buildah "${STORE[@]}" rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  log "installing buildah and debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah debootstrap >/dev/null
fi

# A root file system as an image named $1 (tar of the folder, imported as one layer).
import_rootfs() {
  local dir=$1 name=$2
  tar -C "$dir" -c . | buildah "${STORE[@]}" import - "$name" >/dev/null 2>&1 \
    || { local ctr; ctr=$(buildah "${STORE[@]}" from scratch)
         buildah "${STORE[@]}" copy "$ctr" "$dir" / >/dev/null
         buildah "${STORE[@]}" commit --quiet "$ctr" "$name" >/dev/null; }
}

# debootstrap into $1 with the remaining arguments; one retry, since a mirror hiccup is the
# usual cause of failure and the second attempt is cheap compared with a failed CI run.
bootstrap() {
  local target=$1; shift
  for attempt in 1 2; do
    rm -rf "$target"
    if timeout 600 debootstrap --variant=minbase "$@" bookworm "$target" "$MIRROR" >"$target.log" 2>&1; then
      rm -rf "$target/var/cache/apt/archives/"*.deb
      return 0
    fi
    log "debootstrap $target failed (attempt $attempt):"; tail -15 "$target.log"
  done
  return 1
}

# The two downloads wait on the network, not the CPU: run them side by side.
log "debootstrap: runtime base ($RUNTIME_TAG) and builder base ($SWIFT_TAG stand-in)"
bootstrap "$WORK/slim" &
slim_pid=$!
# What swift-frontend, swift-build and the linker need (ldd of /opt/swift/usr/bin), plus the
# project's own build dependencies and git for package resolution.
bootstrap "$WORK/builder" \
  --include=binutils,libc6-dev,libgcc-12-dev,libstdc++-12-dev,libcurl4,libxml2,libsqlite3-0,libncurses6,libedit2,zlib1g-dev,libssl-dev,libyaml-dev,libhiredis-dev,git,ca-certificates
wait "$slim_pid"
# The toolchain arrives as a volume at /opt/swift; make it look installed, as in the official image.
for tool in swift swiftc swift-build swift-package swift-frontend swift-driver clang clang++ ld.lld lld; do
  ln -sf "/opt/swift/usr/bin/$tool" "$WORK/builder/usr/bin/$tool"
done
# Package URLs resolve to the local copies, as they do on this machine.
git config --file "$WORK/builder/etc/gitconfig" url./opt/swift-packages/.insteadOf https://github.com/

# Make the runtime stand-in look like the official slim image: no docs, man pages or locales
# (its dpkg excludes, so later installs skip them too), no apt lists. Otherwise the reported size
# would measure debootstrap's leftovers rather than what the Dockerfile adds.
cat > "$WORK/slim/etc/dpkg/dpkg.cfg.d/slim-excludes" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
DPKG
find "$WORK/slim/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
rm -rf "$WORK/slim/usr/share/man/"* "$WORK/slim/usr/share/info/"* "$WORK/slim/usr/share/locale/"* \
  "$WORK/slim/var/lib/apt/lists/"* "$WORK/slim/var/cache/apt/"*.bin
import_rootfs "$WORK/slim" "$RUNTIME_TAG"
import_rootfs "$WORK/builder" "$SWIFT_TAG"
rm -rf "$WORK/slim" "$WORK/builder"
buildah "${STORE[@]}" images

log "buildah bud (the project's Dockerfile, unchanged)"
timeout 1200 buildah "${STORE[@]}" bud --format docker --isolation chroot --pull=false --layers=false \
  --volume /opt/swift:/opt/swift:ro --volume /opt/swift-packages:/opt/swift-packages:ro \
  -t localhost/bearer-proxy:ci -f Dockerfile . 2>&1 | tail -40
test "${PIPESTATUS[0]}" -eq 0

log "smoke tests inside the built image"
ctr=$(buildah "${STORE[@]}" from --pull=false localhost/bearer-proxy:ci)
run() { timeout 60 buildah "${STORE[@]}" run --isolation chroot --user bearer-proxy "$ctr" -- "$@"; }
run /usr/local/bin/bearer-proxy --version
# check-config on the shipped example, with its secret supplied the way the example expects.
# The example reads the secret from BEARER_PROXY_CLIENT_SECRET when no file or value is set.
timeout 60 buildah "${STORE[@]}" run --isolation chroot --user bearer-proxy --env BEARER_PROXY_CLIENT_SECRET=ci-not-a-secret "$ctr" -- \
  /usr/local/bin/bearer-proxy check-config --config /etc/bearer-proxy/proxy.conf.example
run /usr/local/bin/bearer-proxy demo --once --listen 127.0.0.1:0
run id
# Where the size goes: the binary (static Swift runtime and Foundation) versus the base image.
run ls -l /usr/local/bin/bearer-proxy
base=$(buildah "${STORE[@]}" images --format '{{.Size}}' "$RUNTIME_TAG")

size=$(buildah "${STORE[@]}" images --format '{{.Size}}' localhost/bearer-proxy:ci)
log "image localhost/bearer-proxy:ci built and ran; size $size (runtime base stand-in: $base)"
echo "image size: $size"
