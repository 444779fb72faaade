#!/usr/bin/env bash
# Builds the appliance OS image: Debian 12 (bookworm) minbase + systemd, iproute2, ipmitool and the agent
# published self-contained (no .NET SDK or shared runtime inside), its unit enabled, a serial getty on ttyS0
# and a package manifest at /usr/share/appliance/manifest.txt.
#   Usage: images/build-image.sh [OUTDIR]     (default ./out; root only)
#   Result: OUTDIR/rootfs (directory tree, bootable with systemd-nspawn -b) and, when DISK=1,
#           OUTDIR/appliance-rootfs.ext4 (the same tree as an ext4 file system image, made without loop devices).
#   Cache:  OUTDIR/cache keeps the downloaded .debs and the debootstrapped base (a tarball) between runs.
# debootstrap rather than mkosi: mkosi 14 only works here with a PATH shim and a private /run mount (see README),
# and it adds nothing that debootstrap + a few file copies don't do for a directory image.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/out}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
SUITE=${SUITE:-bookworm}   # pinned by code name, never "stable": a Debian release change must be a commit
# The package set: everything else comes in as their dependencies and is recorded in the manifest.
PACKAGES=${PACKAGES:-systemd-sysv,udev,dbus,iproute2,iputils-arping,ipmitool,libssl3,ca-certificates}

[ "$(id -u)" -eq 0 ] || { echo "build-image.sh: must run as root (debootstrap, chroot ownership)" >&2; exit 1; }

# The mirror this host already uses for $SUITE (so the image follows the host's apt policy, e.g. a
# snapshot or a local mirror); MIRROR= overrides it.
host_mirror() {
  { grep -hsE '^\s*(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources || true; } |
    grep -vE 'security|updates|backports' | grep -oE '(https?|file)://[^ ]*/debian/?' | head -1
}
MIRROR=${MIRROR:-$(host_mirror)}
[ -n "$MIRROR" ] || { echo "build-image.sh: no Debian mirror in the host's apt sources; set MIRROR=" >&2; exit 1; }

T0=$(date +%s)
NEW=$OUT/rootfs.new
rm -rf "$NEW" "$OUT/publish"
mkdir -p "$OUT/cache"

# Publishing (CPU) and debootstrap (network, dpkg I/O) overlap.
"$HERE/publish.sh" "$OUT/publish" > "$OUT/publish.log" 2>&1 &
PUBLISH_PID=$!

# The debootstrapped base depends only on (suite, package list, mirror): kept as a tarball and reused for
# BASE_MAX_AGE_DAYS (point releases and security fixes arrive by rebuilding), FRESH=1 forces a new one.
BASE_TAR=$OUT/cache/base-$(printf '%s\n' "$SUITE" "$PACKAGES" "$MIRROR" | sha256sum | cut -c1-16).tar
if [ "${FRESH:-0}" != 1 ] && [ -f "$BASE_TAR" ] && [ -z "$(find "$BASE_TAR" -mtime +"${BASE_MAX_AGE_DAYS:-7}")" ]; then
  echo "base: reusing $(basename "$BASE_TAR") from $(date -r "$BASE_TAR" -u +%Y-%m-%dT%H:%MZ) (FRESH=1 rebuilds it)"
  mkdir -p "$NEW" && tar -xpf "$BASE_TAR" --numeric-owner --xattrs -C "$NEW"
else
  echo "base: debootstrap $SUITE ($PACKAGES) ..."
  if ! debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$OUT/cache" \
       "$SUITE" "$NEW" "$MIRROR" > "$OUT/debootstrap.log" 2>&1; then
    tail -20 "$OUT/debootstrap.log" >&2; wait "$PUBLISH_PID" || true; exit 1
  fi
  rm -f "$OUT"/cache/base-*.tar
  tar -cpf "$BASE_TAR.tmp" --numeric-owner --xattrs -C "$NEW" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
fi
T_BOOTSTRAP=$(date +%s)
if ! wait "$PUBLISH_PID"; then cat "$OUT/publish.log" >&2; exit 1; fi
cat "$OUT/publish.log"

# The agent, the CLI, the unit and /etc/appliance/agent.json: exactly what `make install` puts on a host.
DESTDIR="$NEW" PUBLISH_DIR="$OUT/publish" PREFIX=/opt/appliance "$HERE/install.sh" >/dev/null
install -d -m 750 "$NEW/var/lib/appliance"
systemctl --root="$NEW" --quiet enable serial-getty@ttyS0.service
# An appliance does not fetch package lists on its own.
systemctl --root="$NEW" --quiet mask apt-daily.timer apt-daily-upgrade.timer

echo appliance > "$NEW/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tappliance\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$NEW/etc/hosts"
# Every appliance must generate its own machine id on first boot, not share the build's.
: > "$NEW/etc/machine-id"; rm -f "$NEW/var/lib/dbus/machine-id"
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$NEW/etc/apt/sources.list"
rm -rf "$NEW"/var/cache/apt/archives/*.deb "$NEW"/var/lib/apt/lists/*_Packages

# Manifest: what is inside, from where, built from which commit.
AGENT_VERSION=$(sed -n 's/.*"appliance-agent\/\([^"]*\)".*/\1/p' "$OUT/publish/agent/appliance-agent.deps.json" | head -1)
COMMIT=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT-dirty"
RELEASE_DATE=$(sed -n 's/^Date: //p' "$NEW"/var/lib/apt/lists/*_Release 2>/dev/null | head -1)
install -d "$NEW/usr/share/appliance"
{
  echo "# Appliance OS image manifest"
  echo "agent-version: $AGENT_VERSION"
  echo "git-commit: $COMMIT"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "debian-suite: $SUITE"
  echo "debian-archive-date: ${RELEASE_DATE:-unknown}"
  echo "dotnet-runtime: $(sed -n '/"name": "Microsoft.NETCore.App"/{n;s/.*"version": "\([^"]*\)".*/\1/p}' "$OUT/publish/agent/appliance-agent.runtimeconfig.json")"
  echo "# package version architecture"
  dpkg-query --admindir="$NEW/var/lib/dpkg" -W -f='${Package} ${Version} ${Architecture}\n' | sort
} > "$NEW/usr/share/appliance/manifest.txt"

rm -rf "$OUT/rootfs"; mv "$NEW" "$OUT/rootfs"
T_END=$(date +%s)

if [ "${DISK:-0}" = 1 ]; then
  # An ext4 file system image of the tree (mke2fs -d needs no loop device); 30% head room.
  SIZE_MB=$(( $(du -sm "$OUT/rootfs" | cut -f1) * 13 / 10 + 64 ))
  rm -f "$OUT/appliance-rootfs.ext4"
  mkfs.ext4 -q -L appliance-root -d "$OUT/rootfs" "$OUT/appliance-rootfs.ext4" "${SIZE_MB}M"
  echo "disk image: $OUT/appliance-rootfs.ext4 ($(du -h --apparent-size "$OUT/appliance-rootfs.ext4" | cut -f1) apparent, $(du -h "$OUT/appliance-rootfs.ext4" | cut -f1) used) in $(( $(date +%s)-T_END )) s"
fi

echo "image: $OUT/rootfs  size $(du -sh "$OUT/rootfs" | cut -f1) ($(grep -vc '^#' "$OUT/rootfs/usr/share/appliance/manifest.txt") packages, agent $AGENT_VERSION, commit ${COMMIT:0:12})"
echo "build time: $(( T_END-T0 )) s (base $(( T_BOOTSTRAP-T0 )) s); cache $(du -sh "$OUT/cache" | cut -f1) (.debs + base tarball)"
