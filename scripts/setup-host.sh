#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on a Debian/Ubuntu machine (as root).
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
[ -x /usr/sbin/visudo ] || need+=(sudo)
command -v strip >/dev/null || need+=(binutils)
command -v nsenter >/dev/null || need+=(util-linux)
command -v useradd >/dev/null || need+=(passwd)
# The sync kill tests stop useradd between the files it commits, with strace's fault injection.
command -v strace >/dev/null || need+=(strace)
# Release: arm64 runs under qemu-user; packages from dpkg-deb and rpmbuild; signatures with gpg.
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
# arm64: its strip, and the arm64 glibc/libstdc++ that qemu-user loads the arm64 node with.
command -v aarch64-linux-gnu-strip >/dev/null || need+=(binutils-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need+=(libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross)
command -v rpmbuild >/dev/null || need+=(rpm)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v gpg >/dev/null || need+=(gpg gpg-agent)
command -v minisign >/dev/null || need+=(minisign)
# A real systemd booted in a container for the tests of the systemd paths.
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
if ((${#need[@]})); then
  echo "setup: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v moto_server >/dev/null; then
  echo "setup: moto_server not found; trying pip install 'moto[server]'" >&2
  python3 -m pip install -q 'moto[server]>=5,<6' || { echo "setup: the IAM emulator moto_server is required" >&2; exit 1; }
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
