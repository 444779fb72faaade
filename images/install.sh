#!/usr/bin/env bash
# Installs the agent on this Linux host (`make install`), or into a root tree (DESTDIR=, used by the image build):
#   PREFIX/agent, PREFIX/ctl   appliance-agent and appliancectl, self-contained linux-x64 (no .NET on the host needed)
#   /usr/local/bin/appliancectl -> PREFIX/ctl/appliancectl
#   /etc/systemd/system/appliance-agent.service (ExecStart adjusted to PREFIX), enabled
#   /etc/appliance/agent.json   production defaults, only if absent (an existing file is never overwritten)
# Environment: PREFIX (default /opt/appliance), DESTDIR (default empty = this host),
#              PUBLISH_DIR (an existing images/publish.sh output; default: publish now into a temp dir).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-/opt/appliance}
DESTDIR=${DESTDIR:-}
UNIT=appliance-agent.service

[ "$(id -u)" -eq 0 ] || { echo "install.sh: must run as root (writes $PREFIX, /etc, /usr/local/bin)" >&2; exit 1; }
case $PREFIX in /*) ;; *) echo "install.sh: PREFIX='$PREFIX' must be an absolute path" >&2; exit 1 ;; esac

if [ -z "${PUBLISH_DIR:-}" ]; then
  PUBLISH_DIR=$(mktemp -d); trap 'rm -rf "$PUBLISH_DIR"' EXIT
  "$HERE/publish.sh" "$PUBLISH_DIR"
fi
for app in agent/appliance-agent ctl/appliancectl; do
  [ -x "$PUBLISH_DIR/$app" ] || { echo "install.sh: $PUBLISH_DIR/$app missing (PUBLISH_DIR must be a publish.sh output)" >&2; exit 1; }
done

# Binaries: copy beside the old tree, then swap, so a running agent never sees a half-copied directory.
install -d -m 755 "$DESTDIR$PREFIX" "$DESTDIR/usr/local/bin"
for app in agent ctl; do
  rm -rf "$DESTDIR$PREFIX/$app.new"
  cp -a "$PUBLISH_DIR/$app" "$DESTDIR$PREFIX/$app.new"
  rm -rf "$DESTDIR$PREFIX/$app.old"
  [ -e "$DESTDIR$PREFIX/$app" ] && mv "$DESTDIR$PREFIX/$app" "$DESTDIR$PREFIX/$app.old"
  mv "$DESTDIR$PREFIX/$app.new" "$DESTDIR$PREFIX/$app"
  rm -rf "$DESTDIR$PREFIX/$app.old"
done
# Both trees carry the same .NET runtime: hard-link identical files (about 70 MB saved).
if command -v hardlink >/dev/null; then hardlink -q "$DESTDIR$PREFIX" >/dev/null 2>&1 || true; fi
ln -sfn "$PREFIX/ctl/appliancectl" "$DESTDIR/usr/local/bin/appliancectl"

install -d -m 755 "$DESTDIR/etc/systemd/system"
sed "s|^ExecStart=/opt/appliance/|ExecStart=$PREFIX/|" "$HERE/systemd/$UNIT" > "$DESTDIR/etc/systemd/system/$UNIT"
chmod 644 "$DESTDIR/etc/systemd/system/$UNIT"

install -d -m 750 "$DESTDIR/etc/appliance"
if [ -e "$DESTDIR/etc/appliance/agent.json" ]; then
  echo "kept existing $DESTDIR/etc/appliance/agent.json"
else
  install -m 640 "$HERE/config/agent.json" "$DESTDIR/etc/appliance/agent.json"
fi

if [ -n "$DESTDIR" ]; then
  systemctl --root="$DESTDIR" --quiet enable "$UNIT"
elif [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl --quiet enable "$UNIT"
  # An agent already running picks up the new binaries now; a stopped one stays stopped.
  systemctl try-restart "$UNIT"
  echo "installed; start with: systemctl start $UNIT   (status: appliancectl status)"
else
  systemctl --quiet enable "$UNIT"
  echo "installed and enabled; systemd is not PID 1 here, so nothing was started"
fi
echo "agent: $PREFIX/agent/appliance-agent, CLI: /usr/local/bin/appliancectl, config: /etc/appliance/agent.json${DESTDIR:+ (under $DESTDIR)}"
