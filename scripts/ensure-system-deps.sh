#!/usr/bin/env bash
# System packages the tests need. Installs them when root; otherwise prints the exact command and stops.
set -euo pipefail
needed=()
for pkg in "$@"; do
  command -v "$pkg" >/dev/null 2>&1 || needed+=("$pkg")
done
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${needed[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
else
  echo "The tests need these system packages: ${needed[*]}" >&2
  echo "Run: sudo apt-get install -y ${needed[*]}" >&2
  exit 1
fi
