#!/bin/sh
# verify-fleet.sh: run `sfw-apply.sh verify` on every host over SSH, as the deploy does
# (root, or sudo -n for another user), and sum up. POSIX sh.
#
#   sh verify-fleet.sh [SSH OPTION...] -- [USER@]HOST...
#
# SSH options are passed to every ssh (give the deploy's: -i KEY, -p PORT,
# -o UserKnownHostsFile=FILE with the pinned host keys, -J BASTION). Each host's report is
# printed with its name in front. Exit status: 0 every host in sync, 1 a host drifted,
# 2 a host could not be verified (unreachable, nothing deployed, an apply in progress)
# and none drifted.
set -u
opts=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  opts="$opts '$(printf '%s' "$1" | sed "s/'/'\\\\''/g")'"
  shift
done
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: sh verify-fleet.sh [SSH OPTION...] -- [USER@]HOST..." >&2; exit 2; }
# on the host: root runs the script itself, any other user through sudo -n
# shellcheck disable=SC2016 # expanded on the host
remote='if [ "$(id -u)" = 0 ]; then s=; else s="sudo -n"; fi; $s sh /var/lib/stateful-firewall/sfw-apply.sh verify'
insync=0 drifted=0 unknown=0
for host in "$@"; do
  eval "set -- $opts"
  out=$(ssh -o BatchMode=yes -o StrictHostKeyChecking=yes "$@" "$host" "$remote" 2>&1)
  rc=$?
  printf '%s\n' "$out" | sed "s|^|$host: |"
  case $rc in
    0) insync=$((insync + 1)) ;;
    1) drifted=$((drifted + 1)); echo "$host: DRIFTED" ;;
    *) unknown=$((unknown + 1)); echo "$host: cannot verify (exit $rc)" ;;
  esac
done
echo "verify-fleet: $insync in sync, $drifted drifted, $unknown not verified"
if [ "$drifted" -gt 0 ]; then exit 1; fi
if [ "$unknown" -gt 0 ]; then exit 2; fi
exit 0
