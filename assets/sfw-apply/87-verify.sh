# --------------------------------------------------------------------------
# drift: the live ruleset against the last confirmed apply
#
# confirm records what it confirmed in $STATE_DIR/baseline/ (the dumps its fingerprint
# check read, so exactly what was live then, and baseline.env: backend, mode, tables);
# a manual rollback of a confirmed apply records what it restored. `verify` compares the
# live ruleset with it: the library's chains (SFW-*) and their jumps, its sets (sfw-*) and
# its nftables table; in exclusive mode the whole tables it loaded (iptables) or the whole
# ruleset (nftables). Counters, expiry times, the elements of dynamic sets (filled by the
# packet path) and, in shared mode, every other tool's chains and tables are left out.
# verify writes nothing: the dumps go through pipes, the state is only read.

B_ID='' B_BACKEND='' B_MODE='' B_TABLE='' B_V6=1 B_TABLES4='' B_TABLES6='' B_IPT_SAVE='' B_IP6T_SAVE='' B_AT=''
DUMP_FAILED='#SFW-DUMP-FAILED'

# baseline_record LABEL: record the live ruleset fingerprint() just read ($TMP/fp.*) as
# what verify compares with (LABEL: the apply id, or what the rollback restored).
baseline_record() {
  _b=$STATE_DIR/baseline
  rm -rf "$_b.new" "$_b.old"
  mkdir "$_b.new" || return 1
  B_ID=$1 B_BACKEND=$ST_BACKEND B_MODE=$ST_MODE B_TABLE=$ST_TABLE B_V6=$ST_V6 B_TABLES4=$ST_TABLES4 B_TABLES6=$ST_TABLES6
  B_IPT_SAVE=$IPT_SAVE B_IP6T_SAVE=$IP6T_SAVE
  B_AT=$(date +%s) || return 1
  if [ "$ST_BACKEND" = iptables ]; then
    cp "$TMP/fp.v4" "$_b.new/v4.save" || return 1
    if [ "$ST_V6" = 1 ]; then cp "$TMP/fp.v6" "$_b.new/v6.save" || return 1; fi
    if [ -f "$TMP/fp.ipset" ]; then cp "$TMP/fp.ipset" "$_b.new/ipset.save" || return 1; fi
  elif [ "$ST_MODE" = exclusive ]; then
    nft -s list ruleset >"$_b.new/nft.list" || return 1
  else
    cp "$TMP/fp.nft" "$_b.new/nft.list" || return 1
  fi
  write_env "$_b.new/baseline.env" B_ID B_BACKEND B_MODE B_TABLE B_V6 B_TABLES4 B_TABLES6 B_IPT_SAVE B_IP6T_SAVE B_AT || return 1
  if [ -d "$_b" ]; then mv "$_b" "$_b.old" || return 1; fi
  mv "$_b.new" "$_b" || return 1
  rm -rf "$_b.old"
}

# baseline_load: read baseline.env (false when nothing was recorded).
baseline_load() {
  [ -f "$STATE_DIR/baseline/baseline.env" ] || return 1
  # shellcheck source=/dev/null
  . "$STATE_DIR/baseline/baseline.env"
  [ -n "$B_ID" ]
}

# trusted PATH: PATH is root's, not a link, and no one else may write it.
trusted() {
  [ ! -L "$1" ] || return 1
  _ls=$(ls -ldn "$1") || return 1
  # shellcheck disable=SC2086 # ls -ldn is the portable way to read owner and mode
  set -- $_ls
  [ "$3" = 0 ] || return 1
  case $1 in ?????w???? | ????????w?) return 1 ;; esac
}

# drift_section WHAT KIND WANT VARS...: compare WANT with the dump on stdin; prints
# the differences, returns 0 (same), 1 (differences) or 3 (a dump failed).
drift_section() {
  _what=$1 _kind=$2 _want=$3
  shift 3
  awk -v what="$_what" -v kind="$_kind" -v wantf="$_want" "$@" "$AWK_DRIFT" "$_want" -
}

# dump CMD...: CMD's output, or the failure marker after it when CMD fails.
dump() { "$@" 2>/dev/null || echo "$DUMP_FAILED"; }

# nft_table_dump NAME: the table (nothing when it is absent).
nft_table_dump() {
  if ! _tabs=$(nft list tables 2>/dev/null); then
    echo "$DUMP_FAILED"
    return 0
  fi
  if printf '%s\n' "$_tabs" | grep -qx "table inet $1"; then dump nft -s list table inet "$1"; fi
}

# drift_report: the differences between the live ruleset and the baseline (B_*, loaded);
# returns 10 (in sync), 11 (drifted) or 12 (cannot tell). Run in a subshell with set -e
# (drift_run): any other failure reads as "cannot tell".
drift_report() {
  _b=$STATE_DIR/baseline
  _at=$(date -u -d "@$B_AT" '+%Y-%m-%d %H:%M:%S UTC' 2>/dev/null) || _at="at $B_AT (seconds since 1970)"
  say "verify: the live ruleset against apply $B_ID ($B_BACKEND, $B_MODE mode), confirmed $_at"
  _drift=0 _fail=0
  if [ "$B_BACKEND" = iptables ]; then
    _s4=${SFW_IPTABLES_SAVE:-${SFW_IPTABLES:+$SFW_IPTABLES-save}}
    _s6=${SFW_IP6TABLES_SAVE:-${SFW_IP6TABLES:+$SFW_IP6TABLES-save}}
    for _f in 4 6; do
      [ "$_f" = 4 ] || [ "$B_V6" = 1 ] || continue
      if [ "$_f" = 4 ]; then _save=${_s4:-${B_IPT_SAVE:-iptables-save}} _own=$B_TABLES4
      else _save=${_s6:-${B_IP6T_SAVE:-ip6tables-save}} _own=$B_TABLES6; fi
      [ "$B_MODE" = exclusive ] || _own=
      _rc=0
      _out=$(dump "$_save" | drift_section "ipv$_f" ipt "$_b/v$_f.save" -v fam="ipv$_f" -v own=" $_own ") || _rc=$?
      printf '%s\n' "$_out"
      case $_rc in 0) ;; 1) _drift=1 ;; *) _fail=1 ;; esac
    done
    if [ -f "$_b/ipset.save" ]; then
      _rc=0
      # no usable ipset reads as no sets (as confirm's fingerprint does), unless sets were confirmed
      _out=$(
        if have ipset && ipset save 2>/dev/null; then :
        elif grep -q '^create sfw-' "$_b/ipset.save"; then echo "$DUMP_FAILED"; fi |
          drift_section ipset ipset "$_b/ipset.save"
      ) || _rc=$?
      printf '%s\n' "$_out"
      case $_rc in 0) ;; 1) _drift=1 ;; *) _fail=1 ;; esac
    fi
  else
    _rc=0
    if [ "$B_MODE" = exclusive ]; then
      _out=$(dump nft -s list ruleset | drift_section "nftables ruleset" nft "$_b/nft.list") || _rc=$?
    else
      _out=$(nft_table_dump "$B_TABLE" | drift_section "nftables table inet $B_TABLE" nft "$_b/nft.list") || _rc=$?
    fi
    printf '%s\n' "$_out"
    case $_rc in 0) ;; 1) _drift=1 ;; *) _fail=1 ;; esac
  fi
  if [ "$_fail" = 1 ]; then
    say "verify: cannot tell whether the host drifted (see above)"
    return 12
  fi
  if [ "$_drift" = 1 ]; then
    say "verify: DRIFTED: the live ruleset is not the one apply $B_ID confirmed (differences above; - confirmed, + live)"
    return 11
  fi
  say "verify: in sync with apply $B_ID"
  return 10
}

# drift_run: drift_report in a subshell with set -e (not in a context that ignores it:
# called as a plain command); sets DRIFT to 0 (in sync), 1 (drifted) or 2 (cannot tell).
DRIFT=
drift_run() {
  set +e
  (
    set -e
    drift_report
  )
  _drc=$?
  set -e
  case $_drc in 10) DRIFT=0 ;; 11) DRIFT=1 ;; *) DRIFT=2 ;; esac
}

# verify: exit 0 in sync, 1 drifted, 2 cannot verify (nothing confirmed yet, an apply in
# progress or pending its confirm, a dump failing, state that is not root's).
cmd_verify() {
  if [ ! -d "$STATE_DIR" ]; then
    say "verify: nothing to verify: $STATE_DIR does not exist (nothing was deployed here)"
    exit 2
  fi
  for _p in "$STATE_DIR" "$STATE_DIR/baseline" "$STATE_DIR"/baseline/* "$STATE_DIR/armed.env" "$STATE_DIR/lock"; do
    [ -e "$_p" ] || [ -L "$_p" ] || continue
    trusted "$_p" || die_code 2 "verify: $_p is not root's alone (or others may write it): cannot trust the recorded state"
  done
  _holder=$(cat "$STATE_DIR/lock/pid" 2>/dev/null) || _holder=
  if [ -n "$_holder" ] && kill -0 "$_holder" 2>/dev/null; then
    say "verify: an apply, confirm or rollback is running (process $_holder): verify again when it is done"
    exit 2
  fi
  load_armed
  if [ -n "$A_ID" ] && armed_live; then
    say "verify: apply $A_ID is waiting for its confirm (rollback armed): verify again once it is confirmed or rolled back"
    exit 2
  fi
  if ! baseline_load; then
    say "verify: nothing to verify: no confirmed apply is recorded in $STATE_DIR (deploy first; a host deployed by a version without verify records one at its next deploy)"
    exit 2
  fi
  drift_run
  exit "$DRIFT"
}

# apply --if-drifted: re-apply only when the live ruleset drifted from the last confirmed
# apply (or cannot be verified); otherwise record that this apply id did nothing, which
# its confirm accepts.
drift_gate() {
  if [ -n "$A_ID" ] && armed_live; then
    say "drift check: apply $A_ID is waiting for its confirm: that deploy decides; nothing re-applied"
    drift_skip
    return 1
  fi
  if ! baseline_load; then
    say "drift check: no confirmed apply is recorded: applying"
    return 0
  fi
  drift_run
  case $DRIFT in
    0) say "drift check: in sync with confirmed apply $B_ID: nothing re-applied"; drift_skip; return 1 ;;
    1) say "drift check: the host drifted from confirmed apply $B_ID: applying again" ;;
    *) say "drift check: cannot verify the host: applying again" ;;
  esac
  return 0
}
drift_skip() {
  [ -n "$APPLY_ID" ] || return 0
  echo "$APPLY_ID" >"$STATE_DIR/drift-skipped" || warn "cannot record that apply $APPLY_ID applied nothing: its confirm will fail"
}
