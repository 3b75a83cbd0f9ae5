#!/bin/sh
# sfw-apply: stateful-firewall on-host apply script
#
# Loads a ruleset compiled by cdktf-stateful-firewall onto the host, guarded by
# an automatic rollback that fires unless `confirm` runs in time. POSIX sh
# (tested with dash); needs root, awk, and the netfilter tools of the backend.
# Run it from a file (it copies itself into the state dir for the timer).
#
# Ownership: the library owns iptables/ip6tables chains named SFW-* (and the
# rules in built-in chains that jump to them), ipsets named sfw-*, and one
# nftables table (table inet NAME). In shared mode nothing else is touched.
# Shared mode places the jumps from the filter table's built-in chains last,
# after every other tool's rules (moved last again by every apply), so ban
# chains (fail2ban, sshguard, CrowdSec) and foreign accepts decide first.

# The awk programs are single-quoted on purpose.
# shellcheck disable=SC2016

set -eu

PROG=stateful-firewall
MARKER='# sfw-apply: stateful-firewall on-host apply script'
LOOSE=/proc/sys/net/netfilter/nf_conntrack_tcp_loose

