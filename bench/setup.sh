#!/bin/sh
# Installs what `npm run bench` needs on Debian/Ubuntu (root): the contenders ferm and ufw,
# the netfilter tools, and a C compiler for the bench's packet sender and timer. Never
# enables ferm or ufw on this host: the bench runs them in network namespaces only.
set -eu
cd "$(dirname "$0")"

need=
for tool in ferm ufw ipset nft iptables-legacy-restore conntrack gcc taskset; do
  command -v "$tool" >/dev/null 2>&1 || need=1
done
if [ -n "$need" ]; then
  [ "$(id -u)" = 0 ] || { echo "bench/setup.sh: run as root to install packages" >&2; exit 1; }
  # ferm asks whether to load its rules at boot: no
  echo 'ferm ferm/enable boolean false' | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ferm ufw ipset nftables iptables conntrack gcc libc6-dev util-linux iproute2 >/dev/null
fi

mkdir -p tmp
for prog in sender timeit; do
  if [ ! -x "tmp/$prog" ] || [ "$prog.c" -nt "tmp/$prog" ]; then
    gcc -O2 -Wall -o "tmp/$prog" "$prog.c"
  fi
done
echo "bench/setup.sh: ferm $(ferm --version 2>/dev/null | head -1 | awk '{print $2}'), $(ufw version 2>/dev/null | head -1), $(nft -v), $(iptables -V), ipset $(ipset -v 2>/dev/null | awk '{print $2}')"
