#!/usr/bin/env bash
# Run by `npm test` before jest: installs what the kernel and deploy labs need.
#
# As root (or with password-less sudo) on Debian or Ubuntu, every missing Debian package
# below is installed with apt-get; then the labs run, and a tool that is still missing
# makes them fail, not skip. Without root the labs cannot create network namespaces: jest
# runs the rest, and this script lists the suites it will skip.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  iproute2 iptables nftables ipset conntrack       # netfilter and network namespaces
  openssh-server openssh-client sudo               # the deploy labs' sshd and deploy users
  python3 python3-scapy python3-pyftpdlib          # probe agents, FTP and TFTP servers
  iputils-ping netcat-openbsd procps util-linux    # ping, nc, ps/pkill, unshare/setsid
  graphviz shellcheck                              # fleet diagrams, the apply script's lint
  python3-yaml                                     # cloud-init's YAML loader, to read the first-boot user data as cloud-init does
  gawk busybox                                     # the apply script's awk programs on gawk and busybox awk (mawk is Debian's awk)
)

# CDK Terrain for the cdktn run (test/cdktn, task test:cdktn): cdktn 0.24 and constructs
# 10.7 from that folder's own lockfile (npm registry; a few seconds).
echo "test-setup: installing test/cdktn (cdktn, constructs) with npm ci" >&2
npm ci --prefix test/cdktn --no-audit --no-fund --loglevel=error

if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "test-setup: not root: the kernel and deploy labs need root (network namespaces) and are skipped:" >&2
  for f in test/kernel/*.test.ts test/deploy/apply-script.test.ts test/deploy/conntrack-sizing.test.ts \
    test/deploy/terraform-lab.test.ts test/deploy/fleet-lab.test.ts test/deploy/deploy-safety.test.ts \
    test/deploy/first-boot-lab.test.ts; do
    [ -f "$f" ] && echo "  - $f" >&2
  done
  echo "test-setup: run 'sudo npm test' (or as root) to run them; the other suites run now." >&2
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "test-setup: missing packages (${missing[*]}) and no apt-get: install them by hand" >&2
    exit 1
  fi
  echo "test-setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Terraform is not a Debian package (HashiCorp's apt repository or a release binary).
if ! command -v terraform >/dev/null; then
  echo "test-setup: terraform (>= 1.4) is not on PATH; the deploy labs need it and will fail:" >&2
  echo "  install it from HashiCorp's apt repository: https://developer.hashicorp.com/terraform/install" >&2
fi
echo "test-setup: the kernel and deploy labs' tools are present"
