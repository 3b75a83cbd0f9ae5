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

usage() {
  cat <<'EOF'
usage: sh sfw-apply.sh <command> [options]

commands:
  apply      validate the pending ruleset, save the current state as the
             rollback point, arm the rollback timer, load the ruleset
             atomically and print the apply id
  confirm    cancel the armed rollback if the live ruleset is still the one
             apply installed, then persist it for reboots
  rollback   restore the saved rollback point now
  destroy    remove everything the library installed (chains, hooks, sets,
             nftables table, armed rollback, persisted configuration)
  status     show the library objects present and the rollback state
  boot       load the persisted ruleset (/etc/stateful-firewall/boot; run at
             boot by stateful-firewall.service, which confirm installs where
             no persistence convention restores the ruleset by itself)
  tune       size the conntrack table (--conntrack-max, --conntrack-buckets):
             raise the kernel values where they are lower, persist them;
             without values, undo what an earlier tune did

options:
  --dir DIR               pending ruleset directory
                          (default /etc/stateful-firewall/pending)
  --backend NAME          iptables or nftables (default: detected from --dir)
  --mode MODE             shared (default: only library objects are replaced)
                          or exclusive (the whole filter table / ruleset)
  --rollback-timeout SEC  seconds before an unconfirmed apply is rolled back
                          (default 60), counted from the load's completion; a
                          confirm already running then is waited for (SEC more)
  --state-dir DIR         rollback point and markers
                          (default /var/lib/stateful-firewall)
  --apply-id ID           apply: the id to record (default: generated);
                          confirm/rollback: act only for this apply
  --sha256 NAME=HEX       apply: the file NAME in --dir must have this sha256
                          (repeatable; a mismatch rejects the apply)
  --table NAME            nftables table name for status/destroy
                          (default: from the last apply, else stateful_firewall)
  --conntrack-max N       apply/tune: nf_conntrack_max the host needs
  --conntrack-buckets N   apply/tune: conntrack hash buckets the host needs
                          (apply without them undoes an earlier sizing)
  -h, --help              show this help

pending directory:
  iptables:  rules.v4 [rules.v6] [sets.ipset]   (iptables-save format)
  nftables:  ruleset.nft                        (one `table inet NAME`)

environment:
  SFW_IPTABLES, SFW_IP6TABLES        iptables variant (e.g. iptables-legacy);
  SFW_IPTABLES_SAVE, SFW_IPTABLES_RESTORE, SFW_IP6TABLES_SAVE,
  SFW_IP6TABLES_RESTORE              explicit save/restore commands
  SFW_ROOT                           prefix for /etc persistence paths
  SFW_TIMER                          auto (default), systemd or detached
  SFW_CT_SEED                        0: do not add conntrack entries for
                                     established connections before the load

exit status:
  0 ok, 1 error, 2 usage, 3 ruleset rejected (nothing changed),
  4 confirm refused (host rolled back or ruleset differs),
  5 load failed after validation (previous state restored)
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
die_code() {
  _code=$1
  shift
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit "$_code"
}
have() { command -v "$1" >/dev/null 2>&1; }
need() { have "$1" || die "required command not found: $1"; }

# q VALUE: single-quote VALUE for a sourced env file.
q() {
  _q=$(printf '%s' "$1" | sed "s/'/'\\\\''/g") || return 1
  printf "'%s'" "$_q"
}

# --------------------------------------------------------------------------
# awk programs (POSIX awk; mawk compatible)

# Target (-j/-g) of an iptables-save rule line.
AWK_LIB='
function tgt(line,   n, a, i) {
  n = split(line, a, /[ \t]+/)
  for (i = 1; i < n; i++) if (a[i] == "-j" || a[i] == "-g") return a[i + 1]
  return ""
}
function issfw(name) { return substr(name, 1, 4) == "SFW-" }
'

# Shared-mode transaction generator: reads the live iptables-save output
# (file livef) and the desired file, prints an iptables-restore --noflush
# input that replaces exactly the SFW-* chains and their hooks.
# Hook placement (the coexistence contract): in the filter table the hooks
# are appended, after every foreign rule of the built-in chain, and moved to
# the end again by every load (the old hook is deleted in the same
# transaction), so fail2ban/sshguard/CrowdSec jumps and other tools' accepts
# decide first and the library's chain (with its default action) decides
# the rest. A foreign rule there that decides every packet (an unconditional
# ACCEPT/DROP/REJECT/RETURN, a goto, or a jump to a chain that always
# decides) would hide the library's chain: refused when strict, else a
# warning. Hooks in other tables (raw: CT targets, non-terminal) keep their
# place at the start of the chain.
# vars: livef, src (label), skip (" t1 t2 "), warnpolicy, strict, statsf
AWK_GEN=$AWK_LIB'
function addtable(t) { if (!(t in seen)) { seen[t] = 1; order[++nt] = t } }
function fail(msg) { printf "%s: %s\n", "stateful-firewall", msg > "/dev/stderr"; err = 1; exit 1 }
# uncond(LINE): the rule has no match (a comment aside), only a target
function uncond(line,   r) {
  r = line
  gsub(/[ \t]-m[ \t]+comment[ \t]+--comment[ \t]+("([^"\\]|\\.)*"|[^ \t"]+)/, "", r)
  sub(/^-A[ \t]+[^ \t]+[ \t]+/, "", r)
  return r ~ /^-[jg][ \t]/
}
function isgoto(line,   n, a, i) {
  n = split(line, a, /[ \t]+/)
  for (i = 1; i < n; i++) if (a[i] == "-j" || a[i] == "-g") return a[i] == "-g"
  return 0
}
function terminal(t) { return index(" ACCEPT DROP REJECT QUEUE NFQUEUE TARPIT ", " " t " ") > 0 }
# decides(T, C, D): every packet entering foreign user chain C gets a verdict
# there (conservative: a RETURN or goto before the deciding rule says no)
function decides(t, c, d,   k, g) {
  if (d > 16) return 0
  for (k = 1; k <= nfr[t, c]; k++) {
    g = ftgt[t, c, k]
    if (g == "RETURN" || fgoto[t, c, k]) return 0
    if (!funcond[t, c, k]) continue
    if (terminal(g)) return 1
    if (((t, g) in fchain) && decides(t, g, d + 1)) return 1
  }
  return 0
}
# catchall(T, C): index of the first foreign rule of built-in chain C that
# decides every packet reaching it (0: none)
function catchall(t, c,   k, g) {
  for (k = 1; k <= nfr[t, c]; k++) {
    if (!funcond[t, c, k]) continue
    g = ftgt[t, c, k]
    if (fgoto[t, c, k] || g == "RETURN" || terminal(g)) return k
    if (((t, g) in fchain) && decides(t, g, 1)) return k
  }
  return 0
}
FILENAME == livef {
  if ($0 ~ /^\*/) { lt = substr($0, 2); next }
  if ($0 ~ /^:/) {
    c = substr($1, 2)
    if ($2 != "-") lbuiltin[lt, c] = 1
    else if (issfw(c)) { lchains[lt, c] = 1; nlc[lt]++; lchain[lt, nlc[lt]] = c; addtable(lt) }
    else fchain[lt, c] = 1
    next
  }
  if ($1 == "-A") {
    c = $2; t = tgt($0)
    if (!issfw(c) && !issfw(t)) {
      k = ++nfr[lt, c]; frule[lt, c, k] = $0; ftgt[lt, c, k] = t
      fgoto[lt, c, k] = isgoto($0); funcond[lt, c, k] = uncond($0)
    }
    if (issfw(c) || !issfw(t)) next
    if ((lt, c) in lbuiltin) { nlh[lt]++; lhook[lt, nlh[lt]] = $0; addtable(lt) }
    else fref[lt, t] = 1
  }
  next
}
{
  line = $0
  sub(/[ \t\r]+$/, "", line)
  if (line ~ /^[ \t]*(#|$)/) next
  if (line ~ /^\*/) { dt = substr(line, 2); addtable(dt); next }
  if (dt == "") fail(sprintf("%s:%d: rule outside a *table section", src, FNR))
  if (line == "COMMIT") next
  if (line ~ /^:/) {
    c = substr($1, 2)
    if ($2 != "-") {
      dbuiltin[dt, c] = 1
      if (warnpolicy && $2 != "ACCEPT")
        printf "%s: warning: %s: policy %s of built-in chain %s (table %s) is ignored in shared mode\n", "stateful-firewall", src, $2, c, dt > "/dev/stderr"
      next
    }
    if (!issfw(c)) fail(sprintf("%s:%d: chain %s is not a library chain (SFW-*); shared mode loads only SFW-* chains", src, FNR, c))
    if (!((dt, c) in dchains)) { dchains[dt, c] = 1; ndc[dt]++; dchain[dt, ndc[dt]] = c }
    next
  }
  if ($1 == "-A") {
    c = $2
    if (issfw(c)) { ndr[dt]++; drule[dt, ndr[dt]] = line; next }
    if (!((dt, c) in dbuiltin)) fail(sprintf("%s:%d: chain %s is not a library chain (SFW-*); shared mode loads only SFW-* chains", src, FNR, c))
    if (!issfw(tgt(line))) fail(sprintf("%s:%d: built-in chain %s may only jump to SFW-* chains in shared mode", src, FNR, c))
    rest = line
    sub(/^-A[ \t]+[^ \t]+/, "", rest)
    ndh[dt]++
    if (dt == "filter") {
      # after every foreign rule (the old hook is deleted before)
      dhook[dt, ndh[dt]] = "-A " c rest; dlast[dt, ndh[dt]] = c
    } else {
      pos[dt, c]++
      dhook[dt, ndh[dt]] = "-I " c " " pos[dt, c] rest
    }
    next
  }
  fail(sprintf("%s:%d: unsupported line (expected iptables-save format): %s", src, FNR, line))
}
END {
  if (err) exit 1
  chains = 0; hooks = 0; stale = 0; tabs = ""
  for (i = 1; i <= nt; i++) {
    t = order[i]
    if (index(skip, " " t " ")) continue
    for (j = 1; j <= ndh[t]; j++) {
      c = dlast[t, j]
      if (c == "" || ((t, c) in checked)) continue
      checked[t, c] = 1
      k = catchall(t, c)
      if (!k) continue
      msg = sprintf("%s: built-in chain %s (table %s) has a foreign rule that decides every packet: %s -- shared mode hooks the library chain after the other rules of %s, so it would never see a packet; remove that rule (and declare what it did in the library) or deploy with exclusive ownership", src, c, t, frule[t, c, k], c)
      if (strict) fail(msg)
      printf "%s: warning: %s\n", "stateful-firewall", msg > "/dev/stderr"
    }
    out = ""
    for (j = 1; j <= ndc[t]; j++) out = out ":" dchain[t, j] " - [0:0]\n"
    # explicit flush: the declaration flushes on iptables 1.8.9 (nft and legacy), older nft variants did not
    for (j = 1; j <= ndc[t]; j++) out = out "-F " dchain[t, j] "\n"
    for (j = 1; j <= nlh[t]; j++) out = out "-D" substr(lhook[t, j], 3) "\n"
    for (j = 1; j <= nlc[t]; j++) if (!((t, lchain[t, j]) in dchains)) out = out "-F " lchain[t, j] "\n"
    for (j = 1; j <= nlc[t]; j++) {
      c = lchain[t, j]
      if ((t, c) in dchains) continue
      if ((t, c) in fref) {
        printf "%s: warning: chain %s (table %s) is referenced by a foreign chain; it is flushed but kept\n", "stateful-firewall", c, t > "/dev/stderr"
        continue
      }
      out = out "-X " c "\n"
      if (c != "SFW-PRIME") stale++
    }
    for (j = 1; j <= ndh[t]; j++) out = out dhook[t, j] "\n"
    for (j = 1; j <= ndr[t]; j++) out = out drule[t, j] "\n"
    chains += ndc[t]; hooks += ndh[t]
    if (ndc[t] > 0) tabs = tabs " " t
    if (out != "") printf "*%s\n%sCOMMIT\n", t, out
  }
  if (statsf != "") printf "%d %d %d%s\n", chains, hooks, stale, tabs > statsf
}
'

# Library subset of an iptables-save dump: built-in chain declarations,
# SFW-* chains, their rules and the hooks that jump to them.
AWK_EXTRACT=$AWK_LIB'
/^\*/ { t = substr($0, 2); print; next }
/^COMMIT/ { print; next }
/^:/ {
  c = substr($1, 2)
  if ($2 != "-") { print $1 " " $2 " [0:0]"; bi[t, c] = 1 }
  else if (issfw(c)) print $1 " - [0:0]"
  next
}
/^-A / {
  if (issfw($2)) { print; next }
  if (((t, $2) in bi) && issfw(tgt($0))) print
}
'

# Fingerprint lines: library objects of an iptables-save dump, counters
# stripped, prefixed by their table.
AWK_FP=$AWK_LIB'
/^\*/ { t = substr($0, 2); next }
/^:SFW-/ { print t " " $1; next }
/^-A / { if (issfw($2) || issfw(tgt($0))) print t " " $0 }
'

# Persisted iptables file without the library objects.
AWK_STRIP=$AWK_LIB'
/^:SFW-/ { next }
/^-A / { if (issfw($2) || issfw(tgt($0))) next }
{ print }
'

# sets.ipset -> restore file creating temporary sets (sfw.tmpN) plus a map
# "tmp real type family" per set. vars: src, mapf
AWK_IPSET=$AWK_LIB'
function fail(msg) { printf "%s: %s\n", "stateful-firewall", msg > "/dev/stderr"; err = 1; exit 1 }
{ sub(/[ \t\r]+$/, "") }
/^[ \t]*(#|$)/ { next }
$1 == "create" {
  if (substr($2, 1, 4) != "sfw-") fail(sprintf("%s:%d: set %s is not a library set (sfw-*)", src, FNR, $2))
  if ($2 in tmp) fail(sprintf("%s:%d: set %s is created twice", src, FNR, $2))
  tmp[$2] = "sfw.tmp" (++n)
  fam = "-"
  for (i = 4; i < NF; i++) if ($i == "family") fam = $(i + 1)
  print tmp[$2] " " $3 " " fam " " $2 > mapf
  $2 = tmp[$2]; print; next
}
$1 == "add" {
  if (!($2 in tmp)) fail(sprintf("%s:%d: add to set %s before its create line", src, FNR, $2))
  $2 = tmp[$2]; print; next
}
{ fail(sprintf("%s:%d: unsupported line (expected ipset save format): %s", src, FNR, $0)) }
'

# --------------------------------------------------------------------------
# arguments

CMD=${1:-}
[ $# -gt 0 ] && shift
DIR=/etc/stateful-firewall/pending
BACKEND=
MODE=
TIMEOUT=60
STATE_DIR=/var/lib/stateful-firewall
APPLY_ID=
REASON=manual
TABLE=
DEADLINE=
CT_MAX=
CT_BUCKETS=
DIGESTS=

need_arg() { [ $# -ge 2 ] || die_code 2 "option $1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --dir) need_arg "$@"; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    --backend) need_arg "$@"; BACKEND=$2; shift 2 ;;
    --backend=*) BACKEND=${1#*=}; shift ;;
    --mode) need_arg "$@"; MODE=$2; shift 2 ;;
    --mode=*) MODE=${1#*=}; shift ;;
    --rollback-timeout) need_arg "$@"; TIMEOUT=$2; shift 2 ;;
    --rollback-timeout=*) TIMEOUT=${1#*=}; shift ;;
    --state-dir) need_arg "$@"; STATE_DIR=$2; shift 2 ;;
    --state-dir=*) STATE_DIR=${1#*=}; shift ;;
    --apply-id) need_arg "$@"; APPLY_ID=$2; shift 2 ;;
    --apply-id=*) APPLY_ID=${1#*=}; shift ;;
    --table) need_arg "$@"; TABLE=$2; shift 2 ;;
    --table=*) TABLE=${1#*=}; shift ;;
    --conntrack-max) need_arg "$@"; CT_MAX=$2; shift 2 ;;
    --conntrack-max=*) CT_MAX=${1#*=}; shift ;;
    --conntrack-buckets) need_arg "$@"; CT_BUCKETS=$2; shift 2 ;;
    --conntrack-buckets=*) CT_BUCKETS=${1#*=}; shift ;;
    --sha256) need_arg "$@"; DIGESTS="$DIGESTS $2"; shift 2 ;;
    --sha256=*) DIGESTS="$DIGESTS ${1#*=}"; shift ;;
    --reason) need_arg "$@"; REASON=$2; shift 2 ;;
    --deadline) need_arg "$@"; DEADLINE=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) printf '%s: unknown option: %s\n' "$PROG" "$1" >&2; usage >&2; exit 2 ;;
  esac
done

case $CMD in
  apply | confirm | rollback | destroy | status | tune | boot | _timer) ;;
  -h | --help | help) usage; exit 0 ;;
  '') usage >&2; exit 2 ;;
  *) printf '%s: unknown command: %s\n' "$PROG" "$CMD" >&2; usage >&2; exit 2 ;;
esac
case $BACKEND in '' | iptables | nftables) ;; *) die_code 2 "unknown backend: $BACKEND (expected iptables or nftables)" ;; esac
case $MODE in '' | shared | exclusive) ;; *) die_code 2 "unknown mode: $MODE (expected shared or exclusive)" ;; esac
case $TIMEOUT in '' | *[!0-9]*) die_code 2 "--rollback-timeout must be a positive number of seconds" ;; esac
[ "$TIMEOUT" -ge 1 ] || die_code 2 "--rollback-timeout must be a positive number of seconds"
case $APPLY_ID in *[!0-9a-f-]* | ?????????????????????????????????????????????????????????????????*) die_code 2 "invalid apply id: $APPLY_ID (hex digits and dashes, at most 64)" ;; esac
for _d in $DIGESTS; do
  case $_d in
    rules.v4=* | rules.v6=* | sets.ipset=* | ruleset.nft=*) ;;
    *) die_code 2 "invalid --sha256 $_d (expected rules.v4, rules.v6, sets.ipset or ruleset.nft=HEX)" ;;
  esac
  case ${_d#*=} in '' | *[!0-9a-f]*) die_code 2 "invalid --sha256 $_d (expected NAME=HEX)" ;; esac
done
case $TABLE in *[!A-Za-z0-9_.-]*) die_code 2 "invalid nftables table name: $TABLE" ;; esac
for _n in $CT_MAX $CT_BUCKETS; do
  # decimal only (the kernel would read a leading 0 as octal), and a size dash can compare
  case $_n in *[!0-9]* | 0* | ??????????*) die_code 2 "--conntrack-max and --conntrack-buckets take whole numbers from 1 to 999999999" ;; esac
done
case "${CT_MAX:+max}/${CT_BUCKETS:+buckets}" in
  max/ | /buckets) die_code 2 "--conntrack-max and --conntrack-buckets go together" ;;
esac

_uid=$(id -u) || die "cannot read the user id (id -u)"
[ "$_uid" = 0 ] || die "must run as root"
ROOT=${SFW_ROOT:-}
ROOT=${ROOT%/}

# --------------------------------------------------------------------------
# state, lock and temporary files

# The state dir is root's alone: root sources files from it (current.env,
# armed.env) and restores rulesets from it, so nothing in it may belong to
# another user. (Versions before 0.2 gave it to the SSH user; whatever another
# user owns in it is discarded, with a warning.)
umask 077
mkdir -p "$STATE_DIR" || die "cannot create state dir $STATE_DIR"
STATE_DIR=$(cd "$STATE_DIR" && pwd -P)
[ ! -L "$STATE_DIR" ] || die "state dir $STATE_DIR is a symbolic link"
chown 0:0 "$STATE_DIR" || die "cannot make root the owner of $STATE_DIR"
chmod 700 "$STATE_DIR"
secure_state_dir() {
  _foreign=$(find "$STATE_DIR" -mindepth 1 -maxdepth 1 \( ! -user 0 -o -perm -0002 -o -perm -0020 \) -print 2>/dev/null) || return 1
  _deep=$(find "$STATE_DIR" -mindepth 2 \( ! -user 0 -o -perm -0002 -o -perm -0020 \) -print 2>/dev/null) || return 1
  # a deep entry discards its top-level entry (each listed once)
  # shellcheck disable=SC2086 # paths in the state dir have no blanks
  for _f in $_deep; do
    _rel=${_f#"$STATE_DIR"/}
    _top=$STATE_DIR/${_rel%%/*}
    case " $_foreign " in
      *" $_top "*) ;;
      *) _foreign="$_foreign $_top" ;;
    esac
  done
  for _f in $_foreign; do
    warn "discarding $_f: it is not root's (or others may write it), so it cannot be trusted"
    rm -rf "$_f" || return 1
  done
}
secure_state_dir || die "cannot check the state dir $STATE_DIR"
SNAP=$STATE_DIR/rollback
LOCKED=0
TMP=

cleanup() {
  if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
  if [ "$LOCKED" = 1 ]; then rm -rf "$STATE_DIR/lock"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sfw-apply.XXXXXX") || die "cannot create a temporary directory"

# lock [SECONDS]: serialise apply/confirm/rollback/destroy (mkdir is atomic).
lock() {
  _tries=${1:-60}
  _nopid=0
  while ! mkdir "$STATE_DIR/lock" 2>/dev/null; do
    _holder=$(cat "$STATE_DIR/lock/pid" 2>/dev/null || true)
    if [ -n "$_holder" ] && ! kill -0 "$_holder" 2>/dev/null; then
      rm -rf "$STATE_DIR/lock"
      continue
    fi
    # a holder writes its pid right after taking the lock: a lock still without
    # one seconds later belongs to a process killed in between
    if [ -z "$_holder" ]; then
      _nopid=$((_nopid + 1))
      if [ "$_nopid" -ge 3 ]; then
        warn "removing the lock of a process that died while taking it"
        rm -rf "$STATE_DIR/lock"
        _nopid=0
        continue
      fi
    else
      _nopid=0
    fi
    _tries=$((_tries - 1))
    [ "$_tries" -gt 0 ] || die "state dir $STATE_DIR is locked by process ${_holder:-?}"
    sleep 1
  done
  LOCKED=1
  echo "$$" >"$STATE_DIR/lock/pid"
}

# write_env FILE NAME...: store the named variables in a sourceable file.
write_env() {
  _f=$1
  shift
  : >"$_f.new" || return 1
  for _v in "$@"; do
    eval "_val=\${$_v-}"
    # shellcheck disable=SC2154 # _val is set by eval
    _qv=$(q "$_val") || return 1
    printf '%s=%s\n' "$_v" "$_qv" >>"$_f.new" || return 1
  done
  mv -f "$_f.new" "$_f"
}

ST_ID='' ST_BACKEND='' ST_MODE='' ST_TABLE='' ST_V6=1 ST_TABLES4='' ST_TABLES6=''
ST_IPT_SAVE='' ST_IPT_RESTORE='' ST_IP6T_SAVE='' ST_IP6T_RESTORE='' ST_APPLIED_AT=''
A_ID='' A_KIND='' A_PID='' A_UNIT='' A_DEADLINE=''
load_armed() {
  A_ID='' A_KIND='' A_PID='' A_UNIT='' A_DEADLINE=''
  # shellcheck source=/dev/null
  if [ -f "$STATE_DIR/armed.env" ]; then . "$STATE_DIR/armed.env"; fi
}
# load_state: what the last apply recorded. Read only under the lock (each
# command takes it first), so a concurrent apply is never half-seen.
load_state() {
  ST_ID='' ST_BACKEND='' ST_MODE='' ST_TABLE='' ST_V6=1 ST_TABLES4='' ST_TABLES6=''
  ST_IPT_SAVE='' ST_IPT_RESTORE='' ST_IP6T_SAVE='' ST_IP6T_RESTORE='' ST_APPLIED_AT=''
  # shellcheck source=/dev/null
  if [ -f "$STATE_DIR/current.env" ]; then . "$STATE_DIR/current.env"; fi
  load_armed
  ipt_tools
}

# iptables commands: environment, then what the last apply used, then default.
ipt_tools() {
  IPT_SAVE=${SFW_IPTABLES_SAVE:-${SFW_IPTABLES:+$SFW_IPTABLES-save}}
  IPT_SAVE=${IPT_SAVE:-${ST_IPT_SAVE:-iptables-save}}
  IPT_RESTORE=${SFW_IPTABLES_RESTORE:-${SFW_IPTABLES:+$SFW_IPTABLES-restore}}
  IPT_RESTORE=${IPT_RESTORE:-${ST_IPT_RESTORE:-iptables-restore}}
  IP6T_SAVE=${SFW_IP6TABLES_SAVE:-${SFW_IP6TABLES:+$SFW_IP6TABLES-save}}
  IP6T_SAVE=${IP6T_SAVE:-${ST_IP6T_SAVE:-ip6tables-save}}
  IP6T_RESTORE=${SFW_IP6TABLES_RESTORE:-${SFW_IP6TABLES:+$SFW_IP6TABLES-restore}}
  IP6T_RESTORE=${IP6T_RESTORE:-${ST_IP6T_RESTORE:-ip6tables-restore}}
}

# variant SAVECMD: its version line, e.g. "iptables-save v1.8.9 (nf_tables)".
variant() { "$1" --version 2>/dev/null | head -n 1; }

nft_name() {
  if [ -n "$TABLE" ]; then echo "$TABLE"; return; fi
  if [ -n "$ST_TABLE" ]; then echo "$ST_TABLE"; return; fi
  if [ -f "$DIR/ruleset.nft" ]; then
    _n=$(nft_table_of "$DIR/ruleset.nft" 2>/dev/null || true)
    if [ -n "$_n" ]; then echo "$_n"; return; fi
  fi
  echo stateful_firewall
}

# nft_table_of FILE: NAME of the first `table inet NAME` line.
nft_table_of() {
  awk '
    { sub(/^[ \t]+/, "") }
    $1 == "table" {
      if ($2 != "inet") exit 1
      n = $3; sub(/[{;].*$/, "", n); print n; found = 1; exit 0
    }
    END { if (!found) exit 1 }
  ' "$1"
}

nft_has_table() { have nft && nft list table inet "$1" >/dev/null 2>&1; }

# tables_of FILE: table names of an iptables-save file.
tables_of() { awk '/^\*/ { printf "%s ", substr($0, 2) }' "$1"; }

# fam_vars 4|6: set FAM_SAVE FAM_RESTORE FAM_LABEL.
fam_vars() {
  if [ "$1" = 4 ]; then
    FAM_SAVE=$IPT_SAVE FAM_RESTORE=$IPT_RESTORE FAM_LABEL=ipv4
  else
    FAM_SAVE=$IP6T_SAVE FAM_RESTORE=$IP6T_RESTORE FAM_LABEL=ipv6
  fi
}

# run_tool LOG CMD...: run CMD, keep its stderr in LOG.
run_tool() {
  _log=$1
  shift
  "$@" 2>"$_log"
}
show_log() { if [ -s "$1" ]; then cat "$1" >&2; fi; }

# --------------------------------------------------------------------------
# ipset staging: new content goes into sfw.tmpN sets that are swapped in.

ipset_drop_temps() {
  have ipset || return 0
  ipset list -n 2>/dev/null | awk '/^sfw\.tmp/' | while read -r _s; do
    ipset destroy "$_s" 2>/dev/null || true
  done
}

# ipset_prepare FILE LABEL: validate FILE by loading it into temporary sets;
# new sets get their final name now (nothing refers to them yet), existing
# ones are listed in $TMP/ipset.swap for ipset_commit.
ipset_prepare() {
  : >"$TMP/ipset.swap" || return 1
  : >"$TMP/ipset.created" || return 1
  : >"$TMP/ipset.map" || return 1
  [ -s "$1" ] || return 0
  have ipset || { printf '%s: %s needs the ipset command\n' "$PROG" "$2" >&2; return 1; }
  awk -v src="$2" -v mapf="$TMP/ipset.map" "$AWK_IPSET" "$1" >"$TMP/ipset.restore" || return 1
  ipset_drop_temps
  if ! run_tool "$TMP/ipset.err" ipset restore <"$TMP/ipset.restore"; then
    show_log "$TMP/ipset.err"
    ipset_drop_temps
    return 1
  fi
  while read -r _tmp _type _fam _real; do
    _live=$(ipset save "$_real" 2>/dev/null | awk '$1 == "create" {
      f = "-"; for (i = 4; i < NF; i++) if ($i == "family") f = $(i + 1)
      print $3 " " f; exit }')
    if [ -n "$_live" ] && [ "$_live" != "$_type $_fam" ]; then
      printf '%s: %s: set %s exists as %s (family %s); it cannot become %s (family %s) in place (run destroy first)\n' \
        "$PROG" "$2" "$_real" "${_live% *}" "${_live#* }" "$_type" "$_fam" >&2
      ipset_drop_temps
      return 1
    fi
  done <"$TMP/ipset.map"
  while read -r _tmp _type _fam _real; do
    if ipset list -n "$_real" >/dev/null 2>&1; then
      echo "$_tmp $_real" >>"$TMP/ipset.swap" || { ipset_abort; return 1; }
    else
      ipset rename "$_tmp" "$_real" || { ipset_abort; return 1; }
      echo "$_real" >>"$TMP/ipset.created" || { ipset destroy "$_real" 2>/dev/null || true; ipset_abort; return 1; }
    fi
  done <"$TMP/ipset.map"
}

ipset_commit() {
  [ -s "$TMP/ipset.swap" ] || return 0
  awk '{ print "swap " $1 " " $2; print "destroy " $1 }' "$TMP/ipset.swap" >"$TMP/ipset.commit" || return 1
  ipset restore <"$TMP/ipset.commit"
}

ipset_abort() {
  if [ -s "$TMP/ipset.created" ]; then
    while read -r _s; do ipset destroy "$_s" 2>/dev/null || true; done <"$TMP/ipset.created"
  fi
  ipset_drop_temps
}

# ipset_prune KEEPFILE: destroy sfw-* sets not created by KEEPFILE.
ipset_prune() {
  have ipset || return 0
  _keep=$(awk '$1 == "create" { printf " %s ", $2 }' "$1" 2>/dev/null || true)
  ipset list -n 2>/dev/null | awk '/^sfw-/' | while read -r _s; do
    case $_keep in *" $_s "*) continue ;; esac
    ipset destroy "$_s" 2>/dev/null || warn "set $_s is still in use; it was kept"
  done
}

ipset_lib() { if [ -f "$1" ]; then awk '($1 == "create" || $1 == "add") && $2 ~ /^sfw-/' "$1"; fi; }

# --------------------------------------------------------------------------
# iptables transactions

# gen_tx LIVE DESIRED LABEL SKIP WARNPOLICY STATS [STRICT]: shared-mode
# transaction; STRICT (default 1) refuses a foreign catch-all ahead of a hook.
gen_tx() {
  awk -v livef="$1" -v src="$3" -v skip=" $4 " -v warnpolicy="$5" -v statsf="$6" -v strict="${7:-1}" \
    "$AWK_GEN" "$1" "$2"
}

# restore_noflush FAM FILE: load a generated transaction if it has content.
restore_noflush() {
  fam_vars "$1"
  [ -s "$2" ] || return 0
  if ! run_tool "$TMP/restore.err" "$FAM_RESTORE" --noflush <"$2"; then
    show_log "$TMP/restore.err"
    return 1
  fi
}

# lib_restore FAM SAVED: bring the library objects back to those in SAVED.
# Exclusive: tables listed in ST_TABLES<fam> are restored whole.
lib_restore() {
  fam_vars "$1"
  _saved=$2
  _excl=
  if [ "$ST_MODE" = exclusive ]; then
    if [ "$1" = 4 ]; then _excl=$ST_TABLES4; else _excl=$ST_TABLES6; fi
  fi
  if [ -n "$_excl" ]; then
    awk -v want=" $_excl " '
      /^\*/ { t = substr($0, 2); keep = index(want, " " t " ") > 0; if (keep) got[t] = 1 }
      keep { print }
      END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in got)) printf "*%s\nCOMMIT\n", w[i] }
    ' "$_saved" >"$TMP/rb.full.$1" || return 1
    if ! run_tool "$TMP/restore.err" "$FAM_RESTORE" <"$TMP/rb.full.$1"; then
      show_log "$TMP/restore.err"
      return 1
    fi
  fi
  "$FAM_SAVE" >"$TMP/rb.live.$1" || return 1
  awk "$AWK_EXTRACT" "$_saved" >"$TMP/rb.lib.$1" || return 1
  gen_tx "$TMP/rb.live.$1" "$TMP/rb.lib.$1" "saved $FAM_LABEL ruleset" "$_excl" 0 "" 0 >"$TMP/rb.tx.$1" || return 1
  restore_noflush "$1" "$TMP/rb.tx.$1"
}

# --------------------------------------------------------------------------
# snapshot (rollback point) and restore

snapshot_take() {
  rm -rf "$SNAP.new"
  mkdir -p "$SNAP.new"
  if have "$IPT_SAVE"; then "$IPT_SAVE" >"$SNAP.new/iptables.save" 2>/dev/null || rm -f "$SNAP.new/iptables.save"; fi
  if have "$IP6T_SAVE"; then "$IP6T_SAVE" >"$SNAP.new/ip6tables.save" 2>/dev/null || rm -f "$SNAP.new/ip6tables.save"; fi
  if have ipset; then ipset save >"$SNAP.new/ipset.save" 2>/dev/null || rm -f "$SNAP.new/ipset.save"; fi
  if have nft; then
    nft list ruleset >"$SNAP.new/nft.ruleset" 2>/dev/null || rm -f "$SNAP.new/nft.ruleset"
    if nft_has_table "$1"; then nft list table inet "$1" >"$SNAP.new/nft-table.nft"; fi
    echo "$1" >"$SNAP.new/nft-table.name"
  fi
  date +%s >"$SNAP.new/taken-at"
  rm -rf "$SNAP"
  mv "$SNAP.new" "$SNAP"
}

# restore_snapshot: put the library objects of the rollback point back
# (for the backend and mode recorded in current.env).
restore_snapshot() {
  [ -d "$SNAP" ] || { printf '%s: no rollback point in %s\n' "$PROG" "$SNAP" >&2; return 1; }
  _rc=0
  if [ "$ST_BACKEND" = iptables ]; then
    ipset_lib "$SNAP/ipset.save" >"$TMP/rb.sets" || { _rc=1; : >"$TMP/rb.sets"; }
    if [ -s "$TMP/rb.sets" ]; then
      if ipset_prepare "$TMP/rb.sets" "saved sets"; then ipset_commit || _rc=1; else _rc=1; fi
    fi
    if [ -f "$SNAP/iptables.save" ]; then
      if lib_restore 4 "$SNAP/iptables.save"; then say "ipv4: restored the rollback point"; else _rc=1; fi
    fi
    if [ "$ST_V6" = 1 ] && [ -f "$SNAP/ip6tables.save" ]; then
      if lib_restore 6 "$SNAP/ip6tables.save"; then say "ipv6: restored the rollback point"; else _rc=1; fi
    fi
    ipset_prune "$TMP/rb.sets"
  elif [ "$ST_BACKEND" = nftables ]; then
    _t=$ST_TABLE
    _done=0
    if [ "$ST_MODE" = exclusive ] && [ -f "$SNAP/nft.ruleset" ]; then
      # never load a truncated copy after "flush ruleset"
      if { echo 'flush ruleset' && cat "$SNAP/nft.ruleset"; } >"$TMP/rb.nft" &&
        run_tool "$TMP/nft.err" nft -f "$TMP/rb.nft"; then
        _done=1
        say "nftables: restored the whole saved ruleset"
      else
        show_log "$TMP/nft.err"
        warn "the saved ruleset could not be reloaded as a whole; restoring table inet $_t only"
      fi
    fi
    if [ "$_done" = 0 ]; then
      if ! {
        echo "table inet sfw_prime" &&
          echo "delete table inet sfw_prime" &&
          echo "table inet $_t" &&
          echo "delete table inet $_t" &&
          { [ ! -f "$SNAP/nft-table.nft" ] || cat "$SNAP/nft-table.nft"; }
      } >"$TMP/rb.nft"; then
        printf '%s: cannot prepare the restore of table inet %s\n' "$PROG" "$_t" >&2
        _rc=1
      elif run_tool "$TMP/nft.err" nft -f "$TMP/rb.nft"; then
        say "nftables: restored table inet $_t of the rollback point"
      else
        show_log "$TMP/nft.err"
        _rc=1
      fi
    fi
  fi
  loose_restore || _rc=1
  return "$_rc"
}

# --------------------------------------------------------------------------
# conntrack: existing connections (the deploy's SSH session) are picked up
# mid-stream only with nf_conntrack_tcp_loose=1.

loose_check() {
  [ -w "$LOOSE" ] || return 0
  # unreadable: nothing to decide on; the load goes ahead as before
  _loose=$(cat "$LOOSE") || { warn "cannot read $LOOSE"; return 0; }
  if [ "$_loose" = 0 ]; then
    warn "net.netfilter.nf_conntrack_tcp_loose is 0: untracked connections (this session) would be INVALID; set to 1 until confirm/rollback"
    [ -f "$STATE_DIR/tcp_loose.orig" ] || echo 0 >"$STATE_DIR/tcp_loose.orig" || return 1
    echo 1 >"$LOOSE" || return 1
  fi
}

loose_restore() {
  [ -f "$STATE_DIR/tcp_loose.orig" ] || return 0
  # kept when the write fails, so a later confirm/rollback/destroy retries
  if [ -w "$LOOSE" ]; then cat "$STATE_DIR/tcp_loose.orig" >"$LOOSE" || return 1; fi
  rm -f "$STATE_DIR/tcp_loose.orig"
}

# ct_prime: an unhooked rule with a conntrack match turns connection
# tracking on in this network namespace without filtering anything; the
# load removes it again (SFW-PRIME chain / table inet sfw_prime).
ct_prime() {
  if [ "$BACKEND" = iptables ]; then
    for _f in 4 6; do
      [ "$_f" = 4 ] || [ "$_v6" = 1 ] || continue
      fam_vars "$_f"
      printf '*filter\n:SFW-PRIME - [0:0]\n-A SFW-PRIME -m conntrack --ctstate INVALID -j RETURN\nCOMMIT\n' |
        "$FAM_RESTORE" --noflush 2>/dev/null || warn "$FAM_LABEL: could not turn connection tracking on before the load"
    done
  else
    printf 'table inet sfw_prime {\n  chain prime {\n    ct state invalid counter\n  }\n}\n' |
      nft -f - 2>/dev/null || warn "could not turn connection tracking on before the load"
  fi
}

# ct_seed: add an ESTABLISHED conntrack entry for every established TCP
# socket that conntrack does not know yet; prints the number added.
ct_seed() {
  _est=$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established 2>/dev/null || echo 432000)
  { conntrack -L -f ipv4 -p tcp 2>/dev/null || true; conntrack -L -f ipv6 -p tcp 2>/dev/null || true; } >"$TMP/ct.list" || return 1
  ss -Htn state established >"$TMP/ss.list" 2>/dev/null || : >"$TMP/ss.list" || return 1
  awk -v ctf="$TMP/ct.list" '
    function split_ep(ep) {
      if (!match(ep, /:[0-9]+$/)) return 0
      port = substr(ep, RSTART + 1); addr = substr(ep, 1, RSTART - 1)
      gsub(/[][]/, "", addr); sub(/%.*/, "", addr)
      if (addr ~ /^::ffff:[0-9.]+$/) addr = substr(addr, 8)
      return 1
    }
    FILENAME == ctf {
      s = d = sp = dp = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^src=/ && s == "") s = substr($i, 5)
        else if ($i ~ /^dst=/ && d == "") d = substr($i, 5)
        else if ($i ~ /^sport=/ && sp == "") sp = substr($i, 7)
        else if ($i ~ /^dport=/ && dp == "") dp = substr($i, 7)
      }
      known[s " " d " " sp " " dp] = 1; known[d " " s " " dp " " sp] = 1
      next
    }
    NF >= 4 {
      if (!split_ep($3)) next
      la = addr; lp = port
      if (!split_ep($4)) next
      pa = addr; pp = port
      if ((pa " " la " " pp " " lp) in known) next
      print pa, la, pp, lp
    }
  ' "$TMP/ct.list" "$TMP/ss.list" >"$TMP/ct.seed" || return 1
  _n=0
  while read -r _pa _la _pp _lp; do
    if conntrack -I -p tcp -s "$_pa" -d "$_la" --sport "$_pp" --dport "$_lp" \
      -r "$_la" -q "$_pa" --reply-port-src "$_lp" --reply-port-dst "$_pp" \
      --state ESTABLISHED -u SEEN_REPLY,ASSURED -t "$_est" >/dev/null 2>&1; then
      _n=$((_n + 1))
    fi
  done <"$TMP/ct.seed"
  echo "$_n"
}

# ct_prepare: connections that exist before the first stateful ruleset
# (the deploy's own SSH session on a bare host) are not tracked. Picked up
# mid-stream their first packet is ctstate NEW without SYN, which a
# "NEW needs SYN, then REJECT" ruleset resets. Track them before the load.
ct_prepare() {
  # only for rulesets that match on connection state
  grep -Eqs -- '-m (conntrack|state) |ct (state|status) ' \
    "$DIR/rules.v4" "$DIR/rules.v6" "$DIR/ruleset.nft" || return 0
  ct_prime
  if [ "${SFW_CT_SEED:-1}" != 0 ] && have conntrack && have ss; then
    if _seeded=$(ct_seed); then
      say "conntrack: tracking on; $_seeded established connection(s) added as ESTABLISHED before the load"
    else
      # best effort: the load goes ahead (as with conntrack-tools missing)
      warn "conntrack: tracking on; adding the established connections failed"
    fi
  else
    # the caller's session carries this line, so the kernel sees its traffic
    say "conntrack: tracking on; waiting 1s so active connections are tracked (install conntrack-tools and ss to track idle ones too)"
    sleep 1
  fi
}

# --------------------------------------------------------------------------
# fingerprint of the live library objects (compared by confirm)

# (each dump goes through a file: a failed dump must fail, not fingerprint
# as an empty ruleset)
fingerprint() {
  if [ "$ST_BACKEND" = iptables ]; then
    echo '# ipv4'
    "$IPT_SAVE" >"$TMP/fp.save" 2>/dev/null || { printf '%s: %s failed\n' "$PROG" "$IPT_SAVE" >&2; return 1; }
    awk "$AWK_FP" "$TMP/fp.save" || return 1
    if [ "$ST_V6" = 1 ]; then
      echo '# ipv6'
      "$IP6T_SAVE" >"$TMP/fp.save" 2>/dev/null || { printf '%s: %s failed\n' "$PROG" "$IP6T_SAVE" >&2; return 1; }
      awk "$AWK_FP" "$TMP/fp.save" || return 1
    fi
    if have ipset; then
      echo '# ipset'
      # no usable ipset (no kernel support) fingerprints as no sets, as it
      # always did: a confirm then sees the sets differ if they appear
      ipset save >"$TMP/fp.save" 2>/dev/null || : >"$TMP/fp.save" || return 1
      awk '
        $1 == "create" && $2 ~ /^sfw-/ { sub(/ initval 0x[0-9a-f]+/, ""); print; next }
        $1 == "add" && $2 ~ /^sfw-/ { gsub(/ (timeout|packets|bytes) [0-9]+/, ""); print }
      ' "$TMP/fp.save" >"$TMP/fp.sets" || return 1
      sort "$TMP/fp.sets" || return 1
    fi
  else
    echo "# nft table inet $ST_TABLE"
    if nft_has_table "$ST_TABLE"; then
      nft -s list table inet "$ST_TABLE" >"$TMP/fp.save" || return 1
      sed 's/ expires [0-9a-z.]*//g' "$TMP/fp.save" || return 1
    else
      echo absent
    fi
  fi
}

# --------------------------------------------------------------------------
# rollback timer
#
# The confirm window counts only the deploy's own work, not the time a busy
# machine needs to get there (see README, "confirm window"):
# - `arm` (before the load) records a provisional deadline that also covers
#   the load: now + T + max(T, 60);
# - once the load is complete, `window_start` moves the deadline to now + T:
#   the countdown starts when the new ruleset is live;
# - `confirm`'s first action registers it (confirming.PID holds the apply id):
#   it reached the host over a fresh connection, which is what the window
#   waits for. When the deadline passes while a live confirm for the armed
#   apply is registered, the timer waits for it, at most another T seconds; a
#   confirm that fails or dies leaves the rollback to happen;
# - likewise for a new SSH connection from the deploy's client (recorded by
#   window_start) established after the load: it came through the new rules.
# Both timer kinds run the same loop (`_timer`): a detached process, or a
# transient systemd service (outside the SSH session's cgroup).
# A real lockout (no new connection reaches the host) rolls back at
# load completion + T.

# (armed.env, read at start-up, may have set A_WINDOW already)
A_WINDOW=${A_WINDOW:-} A_CLIENT=${A_CLIENT:-} A_SSHPORT=${A_SSHPORT:-}
IN_TIMER=
ROLLBACK_DEFERRED=
CONFIRMING=

# timer_pid: pid of the detached timer of the armed apply, if it runs.
# (setsid forks when it happens to lead a process group, so the timer
# records its own pid.)
timer_pid() {
  [ -n "$A_ID" ] || return 1
  for _p in "$(cat "$STATE_DIR/timer.pid" 2>/dev/null || true)" "$A_PID"; do
    [ -n "$_p" ] || continue
    kill -0 "$_p" 2>/dev/null || continue
    if [ -r "/proc/$_p/cmdline" ]; then
      tr '\0' ' ' <"/proc/$_p/cmdline" | grep -q "_timer.*$A_ID" || continue
    fi
    echo "$_p"
    return 0
  done
  return 1
}
timer_alive() { timer_pid >/dev/null; }

# armed_live: the armed record has a timer that will still fire.
armed_live() {
  [ -n "$A_ID" ] || return 1
  if [ "$A_KIND" = systemd ]; then
    systemctl is-active --quiet "$A_UNIT.service" 2>/dev/null || systemctl is-active --quiet "$A_UNIT.timer" 2>/dev/null
  else
    timer_alive
  fi
}

systemd_usable() {
  [ "${SFW_TIMER:-auto}" != detached ] || return 1
  have systemd-run && have systemctl && [ -d /run/systemd/system ] || return 1
  _comm=$(cat /proc/1/comm 2>/dev/null) || return 1
  [ "$_comm" = systemd ] || return 1
  # a unit would run in PID 1's network namespace, not necessarily ours
  # (unknown when either cannot be read: then not usable)
  _ns1=$(readlink /proc/1/ns/net 2>/dev/null) || return 1
  _ns=$(readlink /proc/self/ns/net 2>/dev/null) || return 1
  [ "$_ns1" = "$_ns" ]
}

write_armed() { write_env "$STATE_DIR/armed.env" A_ID A_KIND A_PID A_UNIT A_DEADLINE A_WINDOW A_CLIENT A_SSHPORT; }

# timelog MESSAGE: a line in rollback.log (the detached timer's log)
timelog() { printf '%s: %s: %s\n' "$PROG" "$(date)" "$*" >>"$STATE_DIR/rollback.log" 2>/dev/null || true; }

# arm ID SECONDS: provisional deadline (covers the load; window_start moves it)
arm() {
  _extra=$2
  [ "$_extra" -ge 60 ] || _extra=60
  _deadline=$(($(date +%s) + $2 + _extra))
  A_ID=$1 A_KIND='' A_PID='' A_UNIT='' A_DEADLINE=$_deadline A_WINDOW=$2 A_CLIENT='' A_SSHPORT=''
  if systemd_usable; then
    A_UNIT=sfw-rollback-$1 A_KIND=systemd
    # the timer exits at once unless it finds itself armed: record first
    write_armed
    if ! systemd-run --quiet --collect --unit="$A_UNIT" \
      /bin/sh "$STATE_DIR/sfw-apply.sh" _timer --state-dir "$STATE_DIR" --apply-id "$1" --deadline "$_deadline" \
      </dev/null >/dev/null 2>&1; then
      A_UNIT='' A_KIND=''
      if [ "${SFW_TIMER:-auto}" = systemd ]; then
        rm -f "$STATE_DIR/armed.env"
        die "systemd-run failed to arm the rollback timer"
      fi
    fi
  elif [ "${SFW_TIMER:-auto}" = systemd ]; then
    die "SFW_TIMER=systemd but systemd is not usable here"
  fi
  if [ -z "$A_KIND" ]; then
    A_KIND=detached
    write_armed
    # detached: own session, no terminal, stdio away from the caller so an
    # SSH session is never held open
    if have setsid; then
      setsid nohup /bin/sh "$STATE_DIR/sfw-apply.sh" _timer --state-dir "$STATE_DIR" \
        --apply-id "$1" --deadline "$_deadline" </dev/null >>"$STATE_DIR/rollback.log" 2>&1 &
    else
      nohup /bin/sh "$STATE_DIR/sfw-apply.sh" _timer --state-dir "$STATE_DIR" \
        --apply-id "$1" --deadline "$_deadline" </dev/null >>"$STATE_DIR/rollback.log" 2>&1 &
    fi
    A_PID=$!
  fi
  write_armed
}

# ssh_origin: "CLIENT_IP SERVER_PORT" of the SSH session this process runs in
# (SSH_CONNECTION, from our environment or an ancestor's: sudo drops it)
ssh_origin() {
  _sc=${SSH_CONNECTION:-}
  _p=$PPID
  while [ -z "$_sc" ] && [ -n "$_p" ] && [ "$_p" -gt 1 ] 2>/dev/null; do
    _sc=$(tr '\0' '\n' <"/proc/$_p/environ" 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p' | head -n 1)
    _p=$(awk '{ print $4 }' "/proc/$_p/stat" 2>/dev/null || true)
  done
  # shellcheck disable=SC2086 # split on purpose
  [ -n "$_sc" ] && set -- $_sc && [ $# -ge 4 ] || return 1
  echo "$1 $4"
}

# ssh_conns CLIENT PORT: peer ports of the established TCP connections from
# CLIENT to local port PORT
ssh_conns() {
  have ss || return 0
  ss -tn state established 2>/dev/null | awk -v c="$1" -v p="$2" '
    {
      l = $(NF - 1); r = $NF
      lp = l; sub(/.*:/, "", lp)
      rp = r; sub(/.*:/, "", rp)
      ra = r; sub(/:[0-9]+$/, "", ra); gsub(/^\[|\]$/, "", ra); sub(/^::ffff:/, "", ra)
      if (lp == p && ra == c) print rp
    }'
}

# window_start ID SECONDS: the load is complete; the confirm window starts now
# (the running timer re-reads the deadline every second). The deploy's SSH
# client and the connections it has now are recorded: a new one reaching the
# host later is the deploy's next step (see rollback_due).
window_start() {
  load_armed
  [ "$A_ID" = "$1" ] || return 0
  A_CLIENT='' A_SSHPORT=''
  if _o=$(ssh_origin); then
    A_CLIENT=${_o% *} A_SSHPORT=${_o#* }
    ssh_conns "$A_CLIENT" "$A_SSHPORT" >"$STATE_DIR/window.conns"
  fi
  A_DEADLINE=$(($(date +%s) + $2)) A_WINDOW=$2
  write_armed
  timelog "apply $1 loaded: rollback at $A_DEADLINE (in ${2}s) unless confirm runs${A_CLIENT:+ (deploy client $A_CLIENT, ssh port $A_SSHPORT)}"
}

# new_ssh_conn: peer port of an SSH connection from the deploy's client that
# was established after the load (none without a recorded client)
new_ssh_conn() {
  [ -n "$A_CLIENT" ] && [ -n "$A_SSHPORT" ] || return 1
  [ -f "$STATE_DIR/window.conns" ] || : >"$STATE_DIR/window.conns"
  _np=$(ssh_conns "$A_CLIENT" "$A_SSHPORT" | grep -vxF -f "$STATE_DIR/window.conns" | head -n 1)
  [ -n "$_np" ] || return 1
  echo "$_np"
}

# confirm_register: confirm's first action: a marker that a confirm for the
# apply reached the host (removed when this process exits).
confirm_register() {
  _cid=${APPLY_ID:-$ST_ID}
  [ -n "$_cid" ] || return 0
  CONFIRMING=$STATE_DIR/confirming.$$
  echo "$_cid" >"$CONFIRMING" 2>/dev/null || { CONFIRMING=; return 0; }
  trap 'rm -f "$CONFIRMING"; cleanup' EXIT
}

# confirm_live ID: pid of a running confirm registered for apply ID
confirm_live() {
  for _cf in "$STATE_DIR"/confirming.*; do
    [ -f "$_cf" ] || continue
    _cp=${_cf##*.}
    case $_cp in '' | *[!0-9]*) continue ;; esac
    _cid=$(head -n 1 "$_cf" 2>/dev/null) || _cid=
    if [ "$_cid" = "$1" ] && kill -0 "$_cp" 2>/dev/null &&
      { [ ! -r "/proc/$_cp/cmdline" ] || tr '\0' ' ' <"/proc/$_cp/cmdline" | grep -q ' confirm'; }; then
      echo "$_cp"
      return 0
    fi
    # a dead confirm's marker
    kill -0 "$_cp" 2>/dev/null || rm -f "$_cf"
  done
  return 1
}

# rollback_due: the armed apply's window is over (reads A_*; the timer's
# --deadline until the record has one). Prints why it waits, once per state.
TIMER_WAIT=
rollback_due() {
  _now=$(date +%s)
  _dl=${A_DEADLINE:-$DEADLINE}
  [ "$_now" -ge "$_dl" ] || return 1
  _win=${A_WINDOW:-$TIMEOUT}
  [ "$_now" -lt $((_dl + _win)) ] || return 0
  if _cp=$(confirm_live "$A_ID"); then
    if [ "$TIMER_WAIT" != "$_cp" ]; then
      TIMER_WAIT=$_cp
      say "$(date || true): deadline of apply $A_ID passed while its confirm (process $_cp) runs: waiting for it (at most ${_win}s)"
    fi
    return 1
  fi
  if _np=$(new_ssh_conn); then
    if [ "$TIMER_WAIT" != "tcp:$_np" ]; then
      TIMER_WAIT=tcp:$_np
      say "$(date || true): deadline of apply $A_ID passed while a new SSH connection from the deploy client ($A_CLIENT port $_np) is open: waiting for its confirm (at most ${_win}s)"
    fi
    return 1
  fi
  return 0
}

disarm() {
  load_armed
  [ -n "$A_ID" ] || return 0
  if [ "$A_KIND" = systemd ] && [ -n "$A_UNIT" ]; then
    # not from the unit itself (the timer rolling back)
    if [ -z "$IN_TIMER" ]; then
      systemctl stop "$A_UNIT.service" "$A_UNIT.timer" >/dev/null 2>&1 || true
    fi
  elif _tp=$(timer_pid) && [ "$_tp" != "$$" ]; then
    # the detached timer leads its own process group (setsid): signal the
    # group so its `sleep` goes too and it exits at once
    _pgid=$(awk '{ print $5 }' "/proc/$_tp/stat" 2>/dev/null) || _pgid=
    if [ "$_pgid" = "$_tp" ]; then
      kill -s TERM -- "-$_tp" 2>/dev/null || kill "$_tp" 2>/dev/null || true
    else
      kill "$_tp" 2>/dev/null || true
    fi
  fi
  rm -f "$STATE_DIR/timer.pid" "$STATE_DIR/window.conns"
  rm -f "$STATE_DIR/armed.env"
  for _cf in "$STATE_DIR"/confirming.*; do
    [ -f "$_cf" ] && [ "$_cf" != "$CONFIRMING" ] && rm -f "$_cf"
  done
  A_ID='' A_KIND='' A_PID='' A_UNIT='' A_DEADLINE='' A_WINDOW='' A_CLIENT='' A_SSHPORT=''
}

mark_rolled_back() {
  { echo "$1"; echo "$2"; date +%s; } >"$STATE_DIR/rolled-back"
}
rolled_back_id() { if [ -f "$STATE_DIR/rolled-back" ]; then head -n 1 "$STATE_DIR/rolled-back"; fi; }
confirmed_id() { if [ -f "$STATE_DIR/confirmed" ]; then head -n 1 "$STATE_DIR/confirmed"; fi; }

# --------------------------------------------------------------------------
# persistence (reboot survival)
#
# confirm leaves something that restores the ruleset at boot, or fails:
# the host's convention (netfilter-persistent, iptables-services,
# nftables.service) with its service enabled, and/or the library's own boot
# unit (stateful-firewall.service: `sfw-apply.sh boot` loads the files in
# /etc/stateful-firewall/boot) where no convention is present, its service
# cannot be found, or it cannot load the sets before the rules. Every file
# is saved to a temporary file and checked before it replaces the old one.

BOOT_DIR=/etc/stateful-firewall/boot
BOOT_UNIT=stateful-firewall.service
BOOT_UNIT_PATH=/etc/systemd/system/$BOOT_UNIT
BOOT_MARK='# managed by stateful-firewall (boot unit); do not edit'

# atomic_write PATH: stdin -> PATH via a temporary file in the same dir.
atomic_write() {
  mkdir -p "$(dirname "$1")" || return 1
  cat >"$1.sfw-new" || { rm -f "$1.sfw-new"; return 1; }
  mv -f "$1.sfw-new" "$1"
}

# pfail MSG: report why persisting failed (returns 1).
pfail() {
  printf '%s: persistence: %s\n' "$PROG" "$*" >&2
  return 1
}

ipt_convention() {
  if [ -d "$ROOT/etc/iptables" ] || { [ -z "$ROOT" ] && have netfilter-persistent; }; then
    echo netfilter-persistent
  elif [ -f "$ROOT/etc/sysconfig/iptables-config" ] || [ -f "$ROOT/etc/sysconfig/iptables" ]; then
    echo iptables-services
  fi
}

# nft_convention: "debian CONF INCLUDE" or "rhel CONF INCLUDE".
nft_convention() {
  if [ -f "$ROOT/etc/sysconfig/nftables.conf" ]; then
    echo "rhel /etc/sysconfig/nftables.conf /etc/nftables/stateful-firewall.nft"
  elif [ -f "$ROOT/etc/nftables.conf" ] || [ -d "$ROOT/etc/nftables.d" ]; then
    echo "debian /etc/nftables.conf /etc/nftables.d/stateful-firewall.nft"
  fi
}

# netfilter-persistent loads /etc/iptables/ipsets only with its ipset plugin
# (package ipset-persistent); without it rules.v4 that uses sets fails whole.
nfp_ipset_plugin() {
  for _x in "$ROOT"/usr/share/netfilter-persistent/plugins.d/*ipset*; do
    if [ -f "$_x" ]; then return 0; fi
  done
  return 1
}

# systemd_present: the host has systemd to run a boot unit (with SFW_ROOT,
# only the tree under it counts).
systemd_present() { [ -d "$ROOT/etc/systemd" ] || { [ -z "$ROOT" ] && have systemctl; }; }

# systemd_running: systemd runs this host's units from these files (reload).
systemd_running() {
  [ -z "$ROOT" ] && have systemctl && [ -d /run/systemd/system ] || return 1
  _comm=$(cat /proc/1/comm 2>/dev/null) || return 1
  [ "$_comm" = systemd ] || return 1
  _mnt1=$(readlink /proc/1/ns/mnt 2>/dev/null) || return 1
  _mnt=$(readlink /proc/self/ns/mnt 2>/dev/null) || return 1
  [ "$_mnt1" = "$_mnt" ]
}
systemd_reload() {
  if systemd_running; then
    systemctl daemon-reload >/dev/null 2>&1 || warn "systemctl daemon-reload failed"
  fi
}

# unit_wants PATH: the .wants/.requires dirs of a unit's [Install] WantedBy=/
# RequiredBy= targets, one a line.
unit_wants() {
  awk '
    /^[ \t]*\[/ { s = ($0 ~ /^[ \t]*\[Install\][ \t]*$/); next }
    s && /^(WantedBy|RequiredBy)[ \t]*=/ {
      k = ($0 ~ /^W/) ? "wants" : "requires"
      v = $0; sub(/^[^=]*=/, "", v)
      n = split(v, a, /[ \t]+/)
      for (i = 1; i <= n; i++) if (a[i] != "") print a[i] "." k
    }
  ' "$ROOT$1"
}

# unit_find NAME: host path of the unit file systemd would use, if it is
# neither masked nor static (an [Install] target to enable it in).
unit_find() {
  if [ -L "$ROOT/etc/systemd/system/$1" ]; then
    _mask=$(readlink "$ROOT/etc/systemd/system/$1") || return 1
    [ "$_mask" != /dev/null ] || return 1
  fi
  for _d in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    if [ -f "$ROOT$_d/$1" ]; then
      _targets=$(unit_wants "$_d/$1") || return 1
      [ -n "$_targets" ] || return 1
      echo "$_d/$1"
      return 0
    fi
  done
  return 1
}

# unit_enable PATH: what `systemctl enable` does, without a running systemd:
# a symlink to PATH in the .wants/.requires dir of each [Install] WantedBy=/
# RequiredBy= target under /etc/systemd/system; prints those dirs.
unit_enable() {
  _name=${1##*/}
  _dirs=$(unit_wants "$1") || return 1
  [ -n "$_dirs" ] || { pfail "$_name has no [Install] WantedBy=/RequiredBy= target; it cannot be enabled"; return 1; }
  for _w in $_dirs; do
    _l=$ROOT/etc/systemd/system/$_w/$_name
    _cur=
    if [ -L "$_l" ]; then _cur=$(readlink "$_l") || _cur=; fi
    if [ "$_cur" = "$1" ]; then continue; fi
    if ! { mkdir -p "$ROOT/etc/systemd/system/$_w" && ln -sfn "$1" "$_l"; }; then
      pfail "cannot enable $_name ($_l)"
      return 1
    fi
  done
  printf '%s\n' "$_dirs" | tr '\n' ' ' | sed 's/ $//'
}

# fp_section NAME: one section ("# NAME" header) of $TMP/persist.fp.
fp_section() { awk -v h="# $1" '$0 == h { s = 1; next } /^# / { s = 0 } s' "$TMP/persist.fp"; }

# save_ipt FAM OUT: the family's iptables-save into OUT, checked: the command
# succeeded, it printed at least one table and every table ends with COMMIT,
# and its library lines are those of the live ruleset.
save_ipt() {
  fam_vars "$1"
  if ! "$FAM_SAVE" >"$2" 2>"$TMP/persist.err"; then
    show_log "$TMP/persist.err"
    pfail "$FAM_SAVE failed; the persisted files were left as they were"
    return 1
  fi
  if ! awk '
      /^\*/ { if (open) bad = 1; open = 1; n++; next }
      /^COMMIT[ \t]*$/ { if (!open) bad = 1; open = 0; next }
      END { exit (bad || open || n == 0) }' "$2"; then
    pfail "$FAM_SAVE printed an empty or incomplete ruleset (a table without COMMIT); the persisted files were left as they were"
    return 1
  fi
  fp_section "$FAM_LABEL" >"$TMP/persist.want"
  awk "$AWK_FP" "$2" >"$TMP/persist.got"
  if ! cmp -s "$TMP/persist.want" "$TMP/persist.got"; then
    pfail "the $FAM_LABEL ruleset $FAM_SAVE printed does not hold the live library chains; the persisted files were left as they were"
    return 1
  fi
}

# save_ipset OUT: `ipset save` into OUT, checked against the live sfw-* sets.
save_ipset() {
  if ! ipset save >"$1" 2>"$TMP/persist.err"; then
    show_log "$TMP/persist.err"
    pfail "ipset save failed; the persisted files were left as they were"
    return 1
  fi
  fp_section ipset >"$TMP/persist.want"
  awk '
    $1 == "create" && $2 ~ /^sfw-/ { sub(/ initval 0x[0-9a-f]+/, ""); print; next }
    $1 == "add" && $2 ~ /^sfw-/ { gsub(/ (timeout|packets|bytes) [0-9]+/, ""); print }
  ' "$1" | sort >"$TMP/persist.got"
  if [ ! -s "$TMP/persist.got" ] || ! cmp -s "$TMP/persist.want" "$TMP/persist.got"; then
    pfail "ipset save did not print the live sfw-* sets; the persisted files were left as they were"
    return 1
  fi
}

# save_nft OUT: the library table, checked, as a file nft -f can load again
# and again (the table is declared, deleted, then defined).
save_nft() {
  if ! nft -s list table inet "$ST_TABLE" >"$TMP/persist.table" 2>"$TMP/persist.err"; then
    show_log "$TMP/persist.err"
    pfail "nft list table inet $ST_TABLE failed; the persisted files were left as they were"
    return 1
  fi
  fp_section "nft table inet $ST_TABLE" >"$TMP/persist.want"
  sed 's/ expires [0-9a-z.]*//g' "$TMP/persist.table" >"$TMP/persist.got"
  if ! grep -qx "table inet $ST_TABLE {" "$TMP/persist.table" || ! cmp -s "$TMP/persist.want" "$TMP/persist.got"; then
    pfail "nft printed no complete table inet $ST_TABLE; the persisted files were left as they were"
    return 1
  fi
  {
    echo "# managed by stateful-firewall (apply $ST_ID); do not edit"
    echo "table inet $ST_TABLE"
    echo "delete table inet $ST_TABLE"
    cat "$TMP/persist.table"
  } >"$1"
}

# no_boot_mechanism WHY: confirm fails when nothing would load the ruleset.
no_boot_mechanism() {
  if [ "$ST_BACKEND" = iptables ]; then
    _what="install iptables-persistent and ipset-persistent (Debian, Ubuntu) or iptables-services and ipset-service (RHEL, Fedora)"
  else
    _what="install nftables with its nftables.service"
  fi
  pfail "nothing would restore the firewall at boot: $1, and the host has no systemd ($ROOT/etc/systemd is missing) to run the library's boot unit; $_what, then confirm again (the ruleset is live until the next reboot)"
}

# boot_unit_text: the library's boot unit.
boot_unit_text() {
  cat <<UNIT
$BOOT_MARK
[Unit]
Description=stateful-firewall: load the persisted firewall ($BOOT_DIR)
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target shutdown.target netfilter-persistent.service iptables.service ip6tables.service nftables.service
After=local-fs.target systemd-modules-load.service
Conflicts=shutdown.target
RequiresMountsFor=$STATE_DIR

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh $STATE_DIR/sfw-apply.sh boot --state-dir $STATE_DIR

[Install]
WantedBy=sysinit.target
UNIT
}

# boot_install FILES...: install the files ($TMP/boot/*) the boot command
# loads, the unit, and enable it.
boot_install() {
  case $STATE_DIR in *[!A-Za-z0-9/._-]*)
    pfail "state dir $STATE_DIR: the boot unit needs a path of letters, digits and /._- only"
    return 1 ;;
  esac
  write_env "$TMP/boot/boot.env" ST_ID ST_BACKEND ST_MODE ST_TABLE ST_V6 \
    ST_IPT_SAVE ST_IPT_RESTORE ST_IP6T_SAVE ST_IP6T_RESTORE || return 1
  _bd=$ROOT$BOOT_DIR
  mkdir -p "${_bd%/*}" || { pfail "cannot create ${BOOT_DIR%/*}"; return 1; }
  rm -rf "$_bd.sfw-new" "$_bd.sfw-old"
  if ! { cp -R "$TMP/boot" "$_bd.sfw-new" && chmod 700 "$_bd.sfw-new" && chmod 600 "$_bd.sfw-new"/*; }; then
    pfail "cannot write $BOOT_DIR"
    return 1
  fi
  if [ -d "$_bd" ]; then mv "$_bd" "$_bd.sfw-old" || return 1; fi
  mv "$_bd.sfw-new" "$_bd" || return 1
  rm -rf "$_bd.sfw-old"
  boot_unit_text | atomic_write "$ROOT$BOOT_UNIT_PATH" || { pfail "cannot write $BOOT_UNIT_PATH"; return 1; }
  chmod 644 "$ROOT$BOOT_UNIT_PATH" || { pfail "cannot make $BOOT_UNIT_PATH readable"; return 1; }
  _en=$(unit_enable "$BOOT_UNIT_PATH") || return 1
  say "persistence: boot unit $BOOT_UNIT_PATH, enabled ($_en): loads $* from $BOOT_DIR at boot, before network-pre.target and the firewall services"
}

# boot_remove [quiet]: the boot unit, its enable links and the boot files.
boot_remove() {
  _had=0
  for _l in "$ROOT"/etc/systemd/system/*.wants/"$BOOT_UNIT" "$ROOT"/etc/systemd/system/*.requires/"$BOOT_UNIT"; do
    if [ -L "$_l" ]; then
      rm -f "$_l"
      rmdir "${_l%/*}" 2>/dev/null || true
      _had=1
    fi
  done
  if [ -f "$ROOT$BOOT_UNIT_PATH" ] && grep -qxF "$BOOT_MARK" "$ROOT$BOOT_UNIT_PATH"; then
    rm -f "$ROOT$BOOT_UNIT_PATH"
    _had=1
  fi
  if [ -d "$ROOT$BOOT_DIR" ]; then rm -rf "$ROOT$BOOT_DIR"; _had=1; fi
  rmdir "$ROOT${BOOT_DIR%/*}" 2>/dev/null || true
  [ "$_had" = 1 ] || return 0
  systemd_reload
  [ "${1:-}" = quiet ] || say "persistence: removed the boot unit $BOOT_UNIT_PATH, its enable links and $BOOT_DIR"
}

# enable_units PATH...: enable conventional units found by unit_find.
enable_units() {
  for _u in "$@"; do
    _en=$(unit_enable "$_u") || return 1
    say "persistence: ${_u##*/} enabled ($_en)"
  done
}

persist() {
  fingerprint >"$TMP/persist.fp"
  rm -rf "${TMP:?}/boot"
  mkdir "$TMP/boot" || return 1
  _role='' _why='' _units=''
  if [ "$ST_BACKEND" = iptables ]; then
    # 1. save and check everything before anything is written
    for _f in 4 6; do
      [ "$_f" = 4 ] || [ "$ST_V6" = 1 ] || continue
      save_ipt "$_f" "$TMP/persist.v$_f" || return 1
    done
    _sets=0
    if have ipset; then
      # the saved rules may use the library's sets: a failing list must not read as "none"
      if ! ipset list -n >"$TMP/persist.setnames" 2>"$TMP/persist.err"; then
        show_log "$TMP/persist.err"
        pfail "ipset list failed; the persisted files were left as they were"
        return 1
      fi
      grep -q '^sfw-' "$TMP/persist.setnames" && _sets=1
    fi
    if [ "$_sets" = 1 ]; then
      save_ipset "$TMP/persist.ipset" || return 1
    fi
    # 2. what restores it at boot
    _conv=$(ipt_convention)
    _setsok=0
    case $_conv in
      netfilter-persistent)
        _p4=/etc/iptables/rules.v4 _p6=/etc/iptables/rules.v6 _ps=/etc/iptables/ipsets
        _svcs=netfilter-persistent.service
        if nfp_ipset_plugin; then _setsok=1; fi ;;
      iptables-services)
        _p4=/etc/sysconfig/iptables _p6=/etc/sysconfig/ip6tables _ps=/etc/sysconfig/ipset
        _svcs=iptables.service
        [ "$ST_V6" = 1 ] && _svcs="$_svcs ip6tables.service"
        if [ "$_sets" = 1 ] && _u=$(unit_find ipset.service); then _setsok=1; _units=$_u; fi ;;
      *)
        _role=all _why="no persistence convention found (netfilter-persistent, iptables-services)" ;;
    esac
    if [ -n "$_conv" ]; then
      for _s in $_svcs; do
        if _u=$(unit_find "$_s"); then
          _units="$_units $_u"
        else
          _role=all _why="$_conv is configured but $_s is missing, masked or static"
        fi
      done
      if [ -z "$_role" ] && [ "$_sets" = 1 ] && [ "$_setsok" = 0 ]; then
        _role=sets _why="$_conv cannot load the sets before the rules"
      fi
    fi
    if [ -n "$_role" ] && ! systemd_present; then no_boot_mechanism "$_why"; return 1; fi
    # 3. write
    if [ -n "$_conv" ]; then
      atomic_write "$ROOT$_p4" <"$TMP/persist.v4" || { pfail "cannot write $_p4"; return 1; }
      _written=$_p4
      if [ "$ST_V6" = 1 ]; then
        atomic_write "$ROOT$_p6" <"$TMP/persist.v6" || { pfail "cannot write $_p6"; return 1; }
        _written="$_written $_p6"
      fi
      if [ "$_sets" = 1 ] && [ "$_setsok" = 1 ]; then
        atomic_write "$ROOT$_ps" <"$TMP/persist.ipset" || { pfail "cannot write $_ps"; return 1; }
        _written="$_written $_ps"
      fi
      say "persistence: $_conv ($_written)"
    fi
    if [ "$_sets" = 1 ] && { [ "$_role" = all ] || [ "$_role" = sets ]; }; then
      ipset_lib "$TMP/persist.ipset" >"$TMP/boot/sets.ipset"
    fi
    if [ "$_role" = all ]; then
      for _f in 4 6; do
        [ "$_f" = 4 ] || [ "$ST_V6" = 1 ] || continue
        if [ "$ST_MODE" = exclusive ]; then
          cp "$TMP/persist.v$_f" "$TMP/boot/rules.v$_f"
        else
          awk "$AWK_EXTRACT" "$TMP/persist.v$_f" >"$TMP/boot/rules.v$_f"
        fi
      done
    fi
  else
    save_nft "$TMP/persist.inc" || return 1
    _conv=$(nft_convention)
    if [ -z "$_conv" ]; then
      _role=all _why="no persistence convention found (nftables.service: /etc/nftables.conf or /etc/sysconfig/nftables.conf)"
    elif _u=$(unit_find nftables.service); then
      _units=$_u
    else
      _x=${_conv#* }
      _role=all _why="${_x%% *} is there but nftables.service is missing, masked or static"
    fi
    if [ -n "$_role" ] && ! systemd_present; then no_boot_mechanism "$_why"; return 1; fi
    if [ -n "$_conv" ]; then
      # shellcheck disable=SC2086 # three words
      set -- $_conv
      _conf=$2 _inc=$3
      atomic_write "$ROOT$_inc" <"$TMP/persist.inc" || { pfail "cannot write $_inc"; return 1; }
      if [ "$ST_MODE" = exclusive ]; then
        if [ -f "$ROOT$_conf" ] && ! grep -q '^# managed by stateful-firewall' "$ROOT$_conf" &&
          [ ! -f "$ROOT$_conf.sfw-orig" ]; then
          cp -p "$ROOT$_conf" "$ROOT$_conf.sfw-orig" || return 1
        fi
        printf '#!/usr/sbin/nft -f\n# managed by stateful-firewall (exclusive mode)\nflush ruleset\ninclude "%s"\n' "$_inc" |
          atomic_write "$ROOT$_conf" || { pfail "cannot write $_conf"; return 1; }
      elif ! grep -Fqx "include \"$_inc\"" "$ROOT$_conf" 2>/dev/null; then
        printf 'include "%s"\n' "$_inc" >>"$ROOT$_conf" || { pfail "cannot write $_conf"; return 1; }
      fi
      say "persistence: nftables.service ($1: $_inc included from $_conf)"
    fi
    if [ "$_role" = all ]; then
      {
        if [ "$ST_MODE" = exclusive ]; then echo 'flush ruleset'; fi
        cat "$TMP/persist.inc"
      } >"$TMP/boot/ruleset.nft"
    fi
  fi
  # shellcheck disable=SC2086 # unit paths have no blanks
  enable_units $_units || return 1
  if [ -n "$_role" ]; then
    say "persistence: $_why: installing the library's boot unit"
    _files=
    for _x in sets.ipset rules.v4 rules.v6 ruleset.nft; do
      if [ -f "$TMP/boot/$_x" ]; then _files="$_files $_x"; fi
    done
    # shellcheck disable=SC2086 # file names without blanks
    boot_install $_files || return 1
  else
    boot_remove quiet
  fi
  systemd_reload
}

unpersist() {
  boot_remove
  for _p in /etc/iptables/rules.v4 /etc/iptables/rules.v6 /etc/sysconfig/iptables /etc/sysconfig/ip6tables; do
    [ -f "$ROOT$_p" ] || continue
    awk "$AWK_FP" "$ROOT$_p" | grep -q . || continue
    awk "$AWK_STRIP" "$ROOT$_p" | atomic_write "$ROOT$_p"
    say "persistence: removed the library chains from $_p"
  done
  for _p in /etc/iptables/ipsets /etc/sysconfig/ipset; do
    [ -f "$ROOT$_p" ] || continue
    awk '($1 == "create" || $1 == "add") && $2 ~ /^sfw-/ { f = 1 } END { exit !f }' "$ROOT$_p" || continue
    awk '!(($1 == "create" || $1 == "add") && $2 ~ /^sfw-/)' "$ROOT$_p" | atomic_write "$ROOT$_p"
    say "persistence: removed the library sets from $_p"
  done
  for _c in "/etc/nftables.conf /etc/nftables.d/stateful-firewall.nft" \
    "/etc/sysconfig/nftables.conf /etc/nftables/stateful-firewall.nft"; do
    # shellcheck disable=SC2086 # two words
    set -- $_c
    if [ -f "$ROOT$2" ]; then
      rm -f "$ROOT$2"
      say "persistence: removed $2"
    fi
    [ -f "$ROOT$1" ] || continue
    if grep -q '^# managed by stateful-firewall' "$ROOT$1" && [ -f "$ROOT$1.sfw-orig" ]; then
      mv -f "$ROOT$1.sfw-orig" "$ROOT$1"
      say "persistence: restored the original $1"
    elif grep -Fqx "include \"$2\"" "$ROOT$1"; then
      grep -Fvx "include \"$2\"" "$ROOT$1" | atomic_write "$ROOT$1"
      say "persistence: removed the include line from $1"
    fi
  done
}

# boot: load the persisted files of $BOOT_DIR (run by the boot unit): the
# sets first, then the rules (shared mode: the same --noflush transaction
# apply loads; exclusive: a full restore), or the nftables table.
cmd_boot() {
  _b=$ROOT$BOOT_DIR
  [ -f "$_b/boot.env" ] || die "nothing to load at boot: $BOOT_DIR/boot.env is missing (confirm writes it)"
  lock 60
  # shellcheck source=/dev/null
  . "$_b/boot.env"
  ipt_tools
  _rc=0
  _done=
  if [ -s "$_b/sets.ipset" ]; then
    if ipset_prepare "$_b/sets.ipset" "$BOOT_DIR/sets.ipset" && ipset_commit; then
      _done="$_done sets.ipset"
    else
      ipset_abort
      warn "boot: loading $BOOT_DIR/sets.ipset failed"
      _rc=1
    fi
  fi
  if [ "$ST_BACKEND" = iptables ]; then
    for _f in 4 6; do
      [ -f "$_b/rules.v$_f" ] || continue
      fam_vars "$_f"
      if [ "$ST_MODE" = exclusive ]; then
        if run_tool "$TMP/boot.err" "$FAM_RESTORE" <"$_b/rules.v$_f"; then _ok=1; else show_log "$TMP/boot.err"; _ok=0; fi
      elif "$FAM_SAVE" >"$TMP/live.$_f" 2>"$TMP/boot.err" &&
        gen_tx "$TMP/live.$_f" "$_b/rules.v$_f" "$BOOT_DIR/rules.v$_f" "" 0 "" >"$TMP/tx.$_f" &&
        restore_noflush "$_f" "$TMP/tx.$_f"; then
        _ok=1
      else
        show_log "$TMP/boot.err"
        _ok=0
      fi
      if [ "$_ok" = 1 ]; then _done="$_done rules.v$_f"; else warn "boot: loading $BOOT_DIR/rules.v$_f failed"; _rc=1; fi
    done
  elif [ -f "$_b/ruleset.nft" ]; then
    need nft
    if run_tool "$TMP/boot.err" nft -f "$_b/ruleset.nft"; then
      _done="$_done ruleset.nft"
    else
      show_log "$TMP/boot.err"
      warn "boot: loading $BOOT_DIR/ruleset.nft failed"
      _rc=1
    fi
  fi
  [ "$_rc" = 0 ] || die "boot: the persisted firewall was not loaded completely (see above)"
  say "boot: loaded${_done:- nothing} from $BOOT_DIR (apply $ST_ID, $ST_BACKEND, $ST_MODE mode)"
}

# --------------------------------------------------------------------------
# conntrack sizing: raise-only, so a host that already tracks more (Docker,
# a proxy) is never shrunk; what was there before is kept to undo it

CT_MAX_FILE=/proc/sys/net/netfilter/nf_conntrack_max
CT_HASH_FILE=/sys/module/nf_conntrack/parameters/hashsize
CT_SYSCTL_CONF=/etc/sysctl.d/90-stateful-firewall-conntrack.conf
CT_MODPROBE_CONF=/etc/modprobe.d/stateful-firewall-conntrack.conf
CT_MODULES_CONF=/etc/modules-load.d/stateful-firewall-conntrack.conf
CT_MARK='# managed by stateful-firewall (conntrack sizing); do not edit'

# ct_raise FILE WANT LABEL: raise a kernel value to WANT unless it is already
# at least that; fails (with a warning) where the value is read-only.
ct_raise() {
  if [ ! -r "$1" ]; then
    warn "conntrack: $3 not set: $1 is missing (nf_conntrack is not loaded)"
    return 1
  fi
  _cur=$(cat "$1") || return 1
  if [ "$_cur" -ge "$2" ]; then
    say "conntrack: $3 is $_cur, at least the $2 needed: unchanged"
    return 0
  fi
  if (echo "$2" >"$1") 2>/dev/null; then
    # the kernel may round the value: report what it took (the write succeeded either way)
    _new=$(cat "$1") || _new="$2 (not read back)"
    say "conntrack: $3 raised from $_cur to $_new"
    return 0
  fi
  warn "conntrack: $3 could not be raised from $_cur to $2: it is read-only here (a container or a network namespace); raise it on the host"
  return 1
}

ct_tune() {
  if [ -z "$CT_MAX" ]; then
    ct_untune || return 1
    return 0
  fi
  # "-" records a value that cannot be read (nf_conntrack not loaded)
  if [ ! -f "$STATE_DIR/conntrack.saved" ]; then
    _vmax=$(cat "$CT_MAX_FILE" 2>/dev/null) || _vmax=-
    _vbuckets=$(cat "$CT_HASH_FILE" 2>/dev/null) || _vbuckets=-
    printf '%s %s\n' "$_vmax" "$_vbuckets" >"$STATE_DIR/conntrack.saved" || return 1
  fi
  _ok=1
  # buckets first: the table is rehashed once, before it may grow
  ct_raise "$CT_HASH_FILE" "$CT_BUCKETS" hash-buckets || _ok=0
  ct_raise "$CT_MAX_FILE" "$CT_MAX" nf_conntrack_max || _ok=0
  _vmax=$(cat "$CT_MAX_FILE" 2>/dev/null) || _vmax=-
  _vbuckets=$(cat "$CT_HASH_FILE" 2>/dev/null) || _vbuckets=-
  printf '%s %s\n' "$_vmax" "$_vbuckets" >"$STATE_DIR/conntrack.applied" || return 1
  if [ "$_ok" = 0 ]; then
    say "persistence: conntrack sizing not persisted (not applied here)"
    return 0
  fi
  # the live values (at least the sizing), loaded at boot before sysctl runs
  _vmax=$(cat "$CT_MAX_FILE") || return 1
  _vbuckets=$(cat "$CT_HASH_FILE") || return 1
  printf '%s\nnet.netfilter.nf_conntrack_max = %s\n' "$CT_MARK" "$_vmax" | atomic_write "$ROOT$CT_SYSCTL_CONF" || return 1
  printf '%s\noptions nf_conntrack hashsize=%s\n' "$CT_MARK" "$_vbuckets" | atomic_write "$ROOT$CT_MODPROBE_CONF" || return 1
  printf '%s\nnf_conntrack\n' "$CT_MARK" | atomic_write "$ROOT$CT_MODULES_CONF" || return 1
  say "persistence: conntrack sizing ($CT_SYSCTL_CONF, $CT_MODPROBE_CONF, $CT_MODULES_CONF)"
}

# ct_untune: put back the values an earlier tune replaced (only those still as
# it left them) and remove its persistence files.
ct_untune() {
  if [ -f "$STATE_DIR/conntrack.saved" ]; then
    read -r _smax _sbuckets <"$STATE_DIR/conntrack.saved" || true
    _amax=- _abuckets=-
    if [ -f "$STATE_DIR/conntrack.applied" ]; then read -r _amax _abuckets <"$STATE_DIR/conntrack.applied" || true; fi
    for _c in "$CT_MAX_FILE $_smax $_amax nf_conntrack_max" "$CT_HASH_FILE $_sbuckets $_abuckets hash-buckets"; do
      # shellcheck disable=SC2086 # four words
      set -- $_c
      if [ "$2" = - ] || [ ! -r "$1" ]; then continue; fi
      _cur=$(cat "$1") || return 1
      if [ "$_cur" = "$2" ]; then continue; fi
      if [ "$_cur" != "$3" ]; then
        say "conntrack: $4 is $_cur, changed since the library set $3: left as it is"
      elif (echo "$2" >"$1") 2>/dev/null; then
        say "conntrack: $4 restored to $2"
      else
        warn "conntrack: $4 could not be restored to $2"
      fi
    done
    rm -f "$STATE_DIR/conntrack.saved" "$STATE_DIR/conntrack.applied" || return 1
  fi
  for _p in "$CT_SYSCTL_CONF" "$CT_MODPROBE_CONF" "$CT_MODULES_CONF"; do
    if [ -f "$ROOT$_p" ] && grep -qxF "$CT_MARK" "$ROOT$_p"; then
      rm -f "$ROOT$_p" || return 1
      say "persistence: removed $_p"
    fi
  done
}

cmd_tune() {
  lock 60
  load_state
  ct_tune
}

# --------------------------------------------------------------------------
# commands

self_install() {
  if [ ! -f "$0" ] || ! grep -qx "$MARKER" "$0"; then
    die "cannot locate the script file ($0); run it from a file, not from stdin"
  fi
  # copy + rename: also safe when running from the state dir copy itself
  cp "$0" "$STATE_DIR/sfw-apply.sh.new"
  mv -f "$STATE_DIR/sfw-apply.sh.new" "$STATE_DIR/sfw-apply.sh"
}

# stage_pending: copy the ruleset files out of --dir into a private directory
# after checking them, so nothing another user (or a concurrent deploy) does to
# --dir afterwards reaches what is loaded. --dir must belong to root or to the
# user who ran sudo, and neither it, its parent nor a file in it may be
# writable by others; files must be regular files, not links.
stage_pending() {
  _owner=${SUDO_UID:-0}
  for _p in "$(dirname "$DIR")" "$DIR"; do
    [ ! -L "$_p" ] || die_code 3 "$_p is a symbolic link; nothing was changed"
    _ls=$(ls -ldn "$_p") || die_code 3 "cannot read the owner and mode of $_p; nothing was changed"
    # shellcheck disable=SC2086 # ls -ldn is the portable way to read owner and mode
    set -- $_ls
    case $3 in 0 | "$_owner") ;; *) die_code 3 "$_p belongs to uid $3, not to root or the deploying user ($_owner); nothing was changed" ;; esac
    case $1 in ?????w???? | ????????w?) die_code 3 "$_p is writable by other users ($1); nothing was changed" ;; esac
  done
  mkdir "$TMP/pending"
  for _n in rules.v4 rules.v6 sets.ipset ruleset.nft; do
    _f=$DIR/$_n
    if [ ! -e "$_f" ] && [ ! -L "$_f" ]; then continue; fi
    { [ -f "$_f" ] && [ ! -L "$_f" ]; } || die_code 3 "$_f is not a regular file; nothing was changed"
    _ls=$(ls -ln "$_f") || die_code 3 "cannot read the owner and mode of $_f; nothing was changed"
    # shellcheck disable=SC2086
    set -- $_ls
    case $3 in 0 | "$_owner") ;; *) die_code 3 "$_f belongs to uid $3, not to root or the deploying user ($_owner); nothing was changed" ;; esac
    case $1 in ?????w???? | ????????w?) die_code 3 "$_f is writable by other users ($1); nothing was changed" ;; esac
    cp "$_f" "$TMP/pending/$_n" || die_code 3 "cannot read $_f; nothing was changed"
  done
  for _d in $DIGESTS; do
    _n=${_d%%=*} _want=${_d#*=}
    [ -f "$TMP/pending/$_n" ] || die_code 3 "$_n is missing from $DIR (expected sha256 $_want): another deploy or user changed the upload; nothing was changed"
    need sha256sum
    sha256sum <"$TMP/pending/$_n" >"$TMP/sha256" || die_code 3 "sha256sum failed on $_n; nothing was changed"
    _got=$(awk '{ print $1 }' "$TMP/sha256")
    [ "$_got" = "$_want" ] || die_code 3 "$_n in $DIR is not the file this deploy uploaded (sha256 $_got, expected $_want): another deploy or user replaced it; nothing was changed"
  done
  DIR=$TMP/pending
}

cmd_apply() {
  [ -d "$DIR" ] || die "pending ruleset directory not found: $DIR"
  DIR=${DIR%/}
  [ ! -L "$DIR" ] || die_code 3 "$DIR is a symbolic link; nothing was changed"
  DIR=$(cd "$DIR" && pwd -P)
  # the lock first: state is read and the upload staged only while no other
  # apply, confirm or rollback runs
  lock 60
  load_state
  stage_pending
  if [ -z "$BACKEND" ]; then
    if [ -f "$DIR/ruleset.nft" ]; then BACKEND=nftables
    elif [ -f "$DIR/rules.v4" ]; then BACKEND=iptables
    else die "no ruleset in $DIR (expected rules.v4 or ruleset.nft)"
    fi
  fi
  MODE=${MODE:-shared}
  self_install

  # ---- 1. validate (nothing is touched until this passes)
  _name=$(nft_name)
  _v6=0 _tables4='' _tables6=''
  if [ "$BACKEND" = iptables ]; then
    [ -f "$DIR/rules.v4" ] || die "missing $DIR/rules.v4"
    need "$IPT_SAVE"
    need "$IPT_RESTORE"
    if [ -f "$DIR/rules.v6" ]; then
      _v6=1
      need "$IP6T_SAVE"
      need "$IP6T_RESTORE"
    fi
    _sets=$DIR/sets.ipset
    [ -f "$_sets" ] || _sets=$TMP/no-sets
    for _f in 4 6; do
      [ "$_f" = 4 ] || [ "$_v6" = 1 ] || continue
      fam_vars "$_f"
      _file=$DIR/rules.v$_f
      "$FAM_SAVE" >"$TMP/live.$_f" 2>"$TMP/save.err" || { show_log "$TMP/save.err"; die "$FAM_SAVE failed"; }
      if [ "$MODE" = shared ]; then
        gen_tx "$TMP/live.$_f" "$_file" "rules.v$_f" "" 1 "$TMP/stats.$_f" >"$TMP/tx.$_f" ||
          die_code 3 "rules.v$_f rejected; nothing was changed"
      else
        cp "$_file" "$TMP/tx.$_f"
        _t=$(tables_of "$_file")
        gen_tx "$TMP/live.$_f" "$TMP/no-sets" "live" "$_t" 0 "$TMP/stats2.$_f" >"$TMP/tx2.$_f" || die "internal error"
        if [ "$_f" = 4 ]; then _tables4=$_t; else _tables6=$_t; fi
      fi
    done
    if ! ipset_prepare "$_sets" sets.ipset; then
      die_code 3 "sets.ipset rejected; nothing was changed"
    fi
    for _f in 4 6; do
      [ "$_f" = 4 ] || [ "$_v6" = 1 ] || continue
      fam_vars "$_f"
      _nf=
      [ "$MODE" = shared ] && _nf=--noflush
      # shellcheck disable=SC2086 # _nf is empty or one flag
      if ! run_tool "$TMP/test.err" "$FAM_RESTORE" --test $_nf <"$TMP/tx.$_f"; then
        show_log "$TMP/test.err"
        ipset_abort
        die_code 3 "rules.v$_f rejected by $FAM_RESTORE --test; nothing was changed"
      fi
    done
    # kernel-side checks (--test only parses): load the files into a
    # throwaway network namespace
    if have unshare && unshare -n true 2>/dev/null; then
      if ! run_tool "$TMP/scratch.err" unshare -n /bin/sh -c '
          set -e
          if [ -s "$1" ]; then ipset restore <"$1"; fi
          "$2" <"$3"
          if [ "$6" = 1 ]; then "$4" <"$5"; fi
        ' sh "$_sets" "$IPT_RESTORE" "$DIR/rules.v4" "$IP6T_RESTORE" "$DIR/rules.v6" "$_v6"; then
        show_log "$TMP/scratch.err"
        ipset_abort
        die_code 3 "the kernel rejected the ruleset (checked in a scratch network namespace); nothing was changed"
      fi
    else
      warn "unshare -n is not available: kernel-side checks happen at load time only"
    fi
  else
    need nft
    _file=$DIR/ruleset.nft
    [ -f "$_file" ] || die "missing $_file"
    _name=$(nft_table_of "$_file") || die_code 3 "ruleset.nft: no 'table inet NAME' line found"
    case $_name in '' | *[!A-Za-z0-9_.-]*) die_code 3 "ruleset.nft: unsupported table name: $_name" ;; esac
    case $_file in *'"'*) die "unsupported path: $_file" ;; esac
    if [ "$MODE" = shared ]; then
      awk -v name="$_name" '
        function fail(m) { printf "stateful-firewall: ruleset.nft:%d: %s\n", FNR, m > "/dev/stderr"; bad = 1 }
        { l = $0; sub(/^[ \t]+/, "", l); split(l, w, /[ \t]+/) }
        w[1] == "table" && !(w[2] == "inet" && (w[3] == name || w[3] == name "{")) { fail("only table inet " name " may be defined in shared mode") }
        w[1] == "include" { fail("include is not allowed in shared mode") }
        w[1] == "flush" && w[2] == "ruleset" { fail("flush ruleset is not allowed in shared mode") }
        w[1] ~ /^(add|create|insert|replace|delete|destroy|flush|reset|rename)$/ && w[2] !~ /^@/ && w[2] != "" &&
          !(w[3] == "inet" && w[4] == name) { fail("statement outside table inet " name " is not allowed in shared mode") }
        END { exit bad }
      ' "$_file" || die_code 3 "ruleset.nft rejected; nothing was changed"
      printf 'table inet sfw_prime\ndelete table inet sfw_prime\ntable inet %s\ndelete table inet %s\ninclude "%s"\n' \
        "$_name" "$_name" "$_file" >"$TMP/tx.nft"
    else
      printf 'flush ruleset\ninclude "%s"\n' "$_file" >"$TMP/tx.nft"
    fi
    if ! run_tool "$TMP/test.err" nft -c -f "$TMP/tx.nft"; then
      show_log "$TMP/test.err"
      die_code 3 "ruleset.nft rejected by nft -c; nothing was changed"
    fi
  fi

  # ---- 2. rollback point (kept if an unconfirmed apply is still pending, so
  # the rollback returns to the last confirmed state)
  if [ -n "$A_ID" ] && ! armed_live; then
    warn "the rollback timer of apply $A_ID is gone (reboot?); taking a fresh rollback point"
    disarm
  fi
  if [ -n "$A_ID" ] && [ -d "$SNAP" ]; then
    say "an unconfirmed apply ($A_ID) is pending: keeping its rollback point"
    disarm
  else
    snapshot_take "$_name"
  fi

  # ---- 3. arm the rollback
  if [ -n "$APPLY_ID" ]; then
    # a re-run of the same apply (Terraform retrying) is a new apply all the same
    _id=$APPLY_ID
  else
    # (any input makes a fine id; only an empty one would be wrong)
    _id=$( { date +%s; echo "$$"; cat "$DIR"/rules.v4 "$DIR"/rules.v6 "$DIR"/sets.ipset "$DIR"/ruleset.nft 2>/dev/null || true; } |
      if have sha256sum; then sha256sum; else cksum; fi | awk '{ print $1 }' | cut -c1-16)
    _now=$(date +%s) || die "date failed"
    case $_id in *[!0-9a-f]*) _id=$(printf '%016x' "$_id" 2>/dev/null) || _id=$$$_now ;; esac
    [ -n "$_id" ] || _id=$$$_now
  fi
  ST_ID=$_id ST_BACKEND=$BACKEND ST_MODE=$MODE ST_TABLE=$_name ST_V6=$_v6
  ST_TABLES4=$_tables4 ST_TABLES6=$_tables6
  ST_IPT_SAVE=$IPT_SAVE ST_IPT_RESTORE=$IPT_RESTORE ST_IP6T_SAVE=$IP6T_SAVE ST_IP6T_RESTORE=$IP6T_RESTORE
  ST_APPLIED_AT=$(date +%s)
  [ "$BACKEND" = nftables ] && ST_V6=1
  write_env "$STATE_DIR/current.env" ST_ID ST_BACKEND ST_MODE ST_TABLE ST_V6 ST_TABLES4 ST_TABLES6 \
    ST_IPT_SAVE ST_IPT_RESTORE ST_IP6T_SAVE ST_IP6T_RESTORE ST_APPLIED_AT
  rm -f "$STATE_DIR/fingerprint"
  loose_check
  arm "$_id" "$TIMEOUT"

  # ---- 4. load atomically (one restore per family, one nft transaction)
  ct_prepare
  _failed=
  if [ "$BACKEND" = iptables ]; then
    ipset_commit || _failed=ipset
    for _f in 4 6; do
      [ -z "$_failed" ] || break
      [ "$_f" = 4 ] || [ "$_v6" = 1 ] || continue
      fam_vars "$_f"
      if [ "$MODE" = shared ]; then
        # regenerated against the live state (now with SFW-PRIME, which
        # goes in the same transaction); identical to the validated one otherwise
        if "$FAM_SAVE" >"$TMP/live.$_f" 2>"$TMP/save.err" &&
          gen_tx "$TMP/live.$_f" "$DIR/rules.v$_f" "rules.v$_f" "" 0 "$TMP/stats.$_f" >"$TMP/tx.$_f" &&
          run_tool "$TMP/save.err" "$FAM_RESTORE" --test --noflush <"$TMP/tx.$_f"; then
          restore_noflush "$_f" "$TMP/tx.$_f" || _failed=$FAM_LABEL
        else
          show_log "$TMP/save.err"
          _failed=$FAM_LABEL
        fi
      else
        if run_tool "$TMP/restore.err" "$FAM_RESTORE" <"$TMP/tx.$_f"; then
          restore_noflush "$_f" "$TMP/tx2.$_f" || _failed=$FAM_LABEL
        else
          show_log "$TMP/restore.err"
          _failed=$FAM_LABEL
        fi
      fi
    done
    [ -n "$_failed" ] || ipset_prune "$_sets"
  else
    if ! run_tool "$TMP/restore.err" nft -f "$TMP/tx.nft"; then
      show_log "$TMP/restore.err"
      _failed=nftables
    fi
  fi
  if [ -n "$_failed" ]; then
    disarm
    ipset_abort
    _how="the previous state was restored"
    restore_snapshot || _how="restoring the previous state failed too (see above)"
    mark_rolled_back "$_id" "load failed"
    die_code 5 "loading the $_failed ruleset failed; $_how"
  fi
  loose_check
  fingerprint >"$STATE_DIR/fingerprint"
  # the conntrack sizing, once the ruleset (which loads nf_conntrack) is in
  ct_tune || warn "persisting the conntrack sizing failed"
  # load-confirm: the load is complete, the confirm window starts now (see "rollback timer")
  window_start "$_id" "$TIMEOUT"

  # ---- 5. report
  if [ "$BACKEND" = iptables ]; then
    for _f in 4 6; do
      fam_vars "$_f"
      if [ "$_f" = 6 ] && [ "$_v6" = 0 ]; then
        say "ipv6: skipped (no rules.v6)"
        continue
      fi
      if [ "$MODE" = shared ]; then
        read -r _c _h _s _tabs <"$TMP/stats.$_f" || true
        say "$FAM_LABEL: shared: $_c SFW-* chain(s) and $_h hook(s) loaded in one $FAM_RESTORE --noflush transaction [$(variant "$FAM_SAVE" || true)]; $_s stale chain(s) removed; other chains untouched"
      else
        say "$FAM_LABEL: exclusive: table(s) $(tables_of "$DIR/rules.v$_f" || true)restored in one $FAM_RESTORE transaction [$(variant "$FAM_SAVE" || true)]"
      fi
    done
    if [ -s "$_sets" ]; then
      _nsets=$(grep -c '^create ' "$_sets") || _nsets=0
      say "ipset: $_nsets sfw-* set(s) loaded"
    fi
  elif [ "$MODE" = shared ]; then
    say "inet: shared: table inet $_name replaced in one nft transaction; other tables untouched"
  else
    say "inet: exclusive: ruleset replaced by table inet $_name in one nft transaction"
  fi
  if [ "$A_KIND" = systemd ]; then
    say "rollback armed: unit $A_UNIT restores the previous state in ${TIMEOUT}s unless confirm runs"
  else
    say "rollback armed: detached process $A_PID restores the previous state in ${TIMEOUT}s unless confirm runs"
  fi
  say "apply id: $_id"
}

cmd_confirm() {
  confirm_register # load-confirm: first action, before the lock (see "rollback timer")
  lock 60
  load_state
  [ -n "$ST_ID" ] || die_code 4 "nothing to confirm: no apply recorded in $STATE_DIR"
  _id=${APPLY_ID:-$ST_ID}
  if [ "$_id" != "$ST_ID" ]; then
    die_code 4 "apply $_id is not the latest apply ($ST_ID); the deploy must be treated as failed"
  fi
  _rb=$(rolled_back_id) || _rb=
  if [ "$_rb" = "$_id" ]; then
    die_code 4 "the host rolled back apply $_id (lockout protection: it was not confirmed in time or its load failed); the deploy must be treated as failed"
  fi
  load_armed
  _cid=$(confirmed_id) || _cid=
  if [ "$A_ID" != "$_id" ] && [ "$_cid" != "$_id" ]; then
    die_code 4 "no rollback is armed for apply $_id; the host may have rolled back (lockout protection); the deploy must be treated as failed"
  fi
  fingerprint >"$TMP/fingerprint"
  if [ ! -f "$STATE_DIR/fingerprint" ] || ! cmp -s "$TMP/fingerprint" "$STATE_DIR/fingerprint"; then
    die_code 4 "the active ruleset is not the one apply $_id installed; the host may have rolled back (lockout protection) or was changed since; the deploy must be treated as failed"
  fi
  echo "$_id" >"$STATE_DIR/confirmed"
  disarm
  loose_restore
  say "confirmed apply $_id: rollback cancelled"
  persist || die "apply $_id is confirmed and live, but persisting it failed"
}

# rollback [--apply-id ID]: with an id (the timer) only if that apply is
# still armed; without, restore the rollback point unconditionally.
cmd_rollback() {
  lock 120
  load_state
  if [ -n "$APPLY_ID" ]; then
    if [ "$A_ID" != "$APPLY_ID" ]; then
      say "rollback for apply $APPLY_ID not needed (confirmed or superseded)"
      return 0
    fi
    # the timer re-checks under the lock: an apply it waited for may have
    # moved the deadline, a confirm may have registered meanwhile
    if [ -n "$IN_TIMER" ] && ! rollback_due; then
      rm -rf "$STATE_DIR/lock"
      LOCKED=0
      ROLLBACK_DEFERRED=1
      return 0
    fi
  fi
  _id=$ST_ID
  disarm
  if restore_snapshot; then
    mark_rolled_back "${_id:-none}" "$REASON"
    say "rolled back apply ${_id:-?} ($REASON): the rollback point is active again"
    _cid=$(confirmed_id) || _cid=
    if [ "$REASON" = manual ] && [ -n "$_id" ] && [ "$_cid" = "$_id" ]; then
      persist || warn "persisting the restored ruleset failed"
    fi
  else
    mark_rolled_back "${_id:-none}" "$REASON (incomplete)"
    die "rollback of apply ${_id:-?} was incomplete (see above)"
  fi
}

cmd_timer() {
  if [ -z "$APPLY_ID" ] || [ -z "$DEADLINE" ]; then die "internal: _timer needs --apply-id and --deadline"; fi
  IN_TIMER=1
  echo "$$" >"$STATE_DIR/timer.pid"
  while :; do
    load_armed
    [ "$A_ID" = "$APPLY_ID" ] || exit 0
    if rollback_due; then
      REASON=timeout
      say "$(date || true): rollback timer for apply $APPLY_ID expired"
      ROLLBACK_DEFERRED=
      cmd_rollback
      [ -n "$ROLLBACK_DEFERRED" ] || return 0
      say "$(date || true): rollback of apply $APPLY_ID deferred (deadline moved or a confirm runs)"
    fi
    sleep 1
  done
}

cmd_destroy() {
  lock 60
  load_state
  disarm
  for _f in 4 6; do
    fam_vars "$_f"
    if ! have "$FAM_SAVE" || ! have "$FAM_RESTORE"; then continue; fi
    if ! "$FAM_SAVE" >"$TMP/live.$_f" 2>/dev/null; then
      warn "$FAM_SAVE failed; $FAM_LABEL skipped"
      continue
    fi
    gen_tx "$TMP/live.$_f" "$TMP/empty" "" "" 0 "" >"$TMP/tx.$_f" || die "internal error"
    if [ -s "$TMP/tx.$_f" ]; then
      restore_noflush "$_f" "$TMP/tx.$_f" || die "removing the $FAM_LABEL library chains failed"
      say "$FAM_LABEL: removed the SFW-* chains and their hooks"
    else
      say "$FAM_LABEL: no library chains"
    fi
  done
  if have ipset; then
    # only for the message: sets that cannot be listed are not counted
    _n=0
    if ipset list -n >"$TMP/sets.list" 2>/dev/null; then _n=$(awk '/^sfw-/ { n++ } END { print n + 0 }' "$TMP/sets.list"); fi
    ipset_drop_temps
    ipset_prune "$TMP/empty"
    [ "$_n" = 0 ] || say "ipset: removed $_n sfw-* set(s)"
  fi
  _name=$(nft_name)
  if nft_has_table "$_name"; then
    nft delete table inet "$_name"
    say "nftables: removed table inet $_name"
  fi
  if nft_has_table sfw_prime; then nft delete table inet sfw_prime; fi
  loose_restore
  unpersist
  ct_untune
  rm -rf "$SNAP" "$STATE_DIR/current.env" "$STATE_DIR/fingerprint" "$STATE_DIR/confirmed" \
    "$STATE_DIR/rolled-back" "$STATE_DIR/sfw-apply.sh"
  say "destroyed: no library objects remain"
}

cmd_status() {
  load_state
  if [ -n "$ST_ID" ]; then
    _st=pending
    _cid=$(confirmed_id)
    _rid=$(rolled_back_id)
    [ "$_cid" = "$ST_ID" ] && _st=confirmed
    [ "$_rid" = "$ST_ID" ] && _st="rolled back"
    say "last apply: $ST_ID ($ST_BACKEND, $ST_MODE mode, $_st, applied at $ST_APPLIED_AT)"
  else
    say "last apply: none"
  fi
  for _f in 4 6; do
    fam_vars "$_f"
    if have "$FAM_SAVE" && "$FAM_SAVE" >"$TMP/live.$_f" 2>/dev/null; then
      _c=$(grep -c '^:SFW-' "$TMP/live.$_f" || true)
      _h=$(awk "$AWK_FP" "$TMP/live.$_f" | awk '$2 == "-A" && $3 !~ /^SFW-/ { n++ } END { print n + 0 }')
      _var=$(variant "$FAM_SAVE")
      say "$FAM_LABEL: $_c SFW-* chain(s), $_h hook(s) [$_var]"
      # foreign rules appended after the library's hook since the last apply
      awk "$AWK_LIB"'
        /^\*/ { t = substr($0, 2); next }
        t == "filter" && $1 == "-A" {
          if (issfw($2)) next
          if (issfw(tgt($0))) { hooked[$2] = 1; after[$2] = 0; if (!($2 in seen)) { seen[$2] = 1; o[++n] = $2 } }
          else if ($2 in hooked) after[$2]++
        }
        END { for (i = 1; i <= n; i++) if (after[o[i]] > 0) print o[i], after[o[i]] }
      ' "$TMP/live.$_f" | while read -r _chain _n; do
        warn "$FAM_LABEL: $_n foreign rule(s) in $_chain come after the library hook (added since the last apply); packets the library chain decides never reach them; apply again to move the hook last"
      done
    else
      say "$FAM_LABEL: $FAM_SAVE not available"
    fi
  done
  if have ipset; then
    if ipset list -n >"$TMP/sets.list" 2>/dev/null; then
      _n=$(awk '/^sfw-/ { n++ } END { print n + 0 }' "$TMP/sets.list")
      say "ipset: $_n sfw-* set(s)"
    else
      say "ipset: the sets cannot be listed (ipset list failed)"
    fi
  fi
  if have nft; then
    _name=$(nft_name)
    if nft_has_table "$_name"; then say "nftables: table inet $_name present"; else say "nftables: table inet $_name absent"; fi
  fi
  if [ -n "$A_ID" ]; then
    _left=$((A_DEADLINE - $(date +%s)))
    if [ "$A_KIND" = systemd ]; then _how="unit $A_UNIT"; else _how="process $(timer_pid || echo "$A_PID")"; fi
    if ! armed_live; then
      say "rollback: armed for apply $A_ID but its timer process is gone (run rollback or confirm)"
    else
      say "rollback: armed for apply $A_ID, fires in ${_left}s ($_how)"
    fi
  else
    say "rollback: not armed"
  fi
}

: >"$TMP/empty"
: >"$TMP/no-sets"
case $CMD in
  apply) cmd_apply ;;
  confirm) cmd_confirm ;;
  rollback) cmd_rollback ;;
  destroy) cmd_destroy ;;
  status) cmd_status ;;
  tune) cmd_tune ;;
  boot) cmd_boot ;;
  _timer) cmd_timer ;;
esac
