#!/usr/bin/env bash
# Installs the Debian 12 packages Breakwater builds and tests with (skips what is present).
# Run as root (or with sudo available). Safe to run repeatedly.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libpcap-dev zlib1g-dev libmaxminddb-dev libtomlplusplus-dev libcli11-dev
  nlohmann-json3-dev libfmt-dev libsqlite3-dev libcurl4-openssl-dev sqlite3
  libcpp-httplib-dev libcap-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  tcpdump tshark mmdb-bin libmaxmind-db-writer-perl
  iproute2 jq hyperfine libxml2-utils softflowd pmacct nfdump tcpreplay memcached unbound ntpsec
  nmap masscan
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
