#!/usr/bin/env bash
# Installs the real BGP/BFD peers ixrs is tested against, from Debian's packages,
# and the operators' tools it feeds (pmacct's BMP collector, Prometheus, and
# Chromium for the web page test, driven by playwright-core from npm), and
# systemd for systemd-analyze verify of contrib/systemd (never started).
# Idempotent; needs root. Daemons are never started as services: tests start
# each one by hand with its own config, socket and pid paths.
set -euo pipefail
pkgs=(bird2 frr gobgpd openbgpd exabgp tshark bgpdump nftables iproute2 procps iputils-ping tcpdump
  pmacct prometheus chromium systemd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-peers: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Debian's packages would start services under systemd; there is none here, and
  # policy-rc.d keeps the maintainer scripts from starting anything anyway.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  rm -f /usr/sbin/policy-rc.d
fi
mkdir -p /run/openbgpd
echo "install-peers: bird $(bird --version 2>&1 | awk '{print $3}'), frr $(/usr/lib/frr/bgpd --version | awk 'NR==1{print $3}'), gobgpd $(gobgpd --version | awk '{print $3}'), openbgpd $(bgpd -V 2>&1 | awk '{print $2}'), exabgp $(exabgp --version 2>&1 | awk 'NR==1{print $3}')"
