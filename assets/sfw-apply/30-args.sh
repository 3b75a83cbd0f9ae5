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
IF_DRIFTED=

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
    --if-drifted) IF_DRIFTED=1; shift ;;
    --reason) need_arg "$@"; REASON=$2; shift 2 ;;
    --deadline) need_arg "$@"; DEADLINE=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) printf '%s: unknown option: %s\n' "$PROG" "$1" >&2; usage >&2; exit 2 ;;
  esac
done

case $CMD in
  apply | confirm | rollback | destroy | status | tune | boot | verify | _timer) ;;
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
    rules.v4=* | rules.v6=* | sets.ipset=* | ruleset.nft=* | late.map=*) ;;
    *) die_code 2 "invalid --sha256 $_d (expected rules.v4, rules.v6, sets.ipset, ruleset.nft or late.map=HEX)" ;;
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

# verify exits 1 only for drift: its other failures are "cannot verify" (2)
[ "$CMD" != verify ] || DIE_CODE=2
_uid=$(id -u) || die "cannot read the user id (id -u)"
[ "$_uid" = 0 ] || die "must run as root"
ROOT=${SFW_ROOT:-}
ROOT=${ROOT%/}

