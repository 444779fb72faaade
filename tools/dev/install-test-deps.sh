#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real (broker, IPMI simulator, LCDd, namespaces).
# Root installs them with apt-get; anyone else gets the exact command to run and a non-zero exit.
set -euo pipefail

# command-on-PATH:debian-package
needed=(
  mosquitto:mosquitto
  mosquitto_pub:mosquitto-clients
  ipmi_sim:openipmi
  ipmitool:ipmitool
  LCDd:lcdproc
  tmux:tmux
  ip:iproute2
  arping:iputils-arping
  openssl:openssl
  systemd-analyze:systemd
  debootstrap:debootstrap
  systemd-nspawn:systemd-container
)

missing=()
for entry in "${needed[@]}"; do
  cmd=${entry%%:*}
  pkg=${entry#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ] && ! [ -x "/usr/bin/$cmd" ]; then
    missing+=("$pkg")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing test packages: ${missing[*]}" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "installing test packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages enable their daemons; the tests start their own on loopback ports.
for svc in mosquitto openipmi LCDd; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
