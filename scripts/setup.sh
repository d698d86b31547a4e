#!/usr/bin/env bash
# Installs what Socket Launcher needs on a fresh Debian 12 machine: the BPF toolchain, the network
# tools the testbed uses and the real clients the tests and benchmarks drive. Idempotent and quiet
# when everything is there already.
set -euo pipefail

packages=(clang llvm libbpf-dev libbpf1 bpftool iproute2 ethtool tcpdump iptables nftables
          redis-server redis-tools iperf3 wrk socat haproxy curl iputils-ping netcat-openbsd maven)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian packages start redis-server and haproxy as services; tests start their own copies in
# namespaces, so the system ones are stopped to keep ports and CPU free.
for svc in redis-server haproxy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

jdk=/usr/lib/jvm/temurin-25-jdk-amd64
if [ ! -x "$jdk/bin/java" ]; then
  echo "setup: JDK 25 (Temurin) is expected at $jdk" >&2
  exit 1
fi
