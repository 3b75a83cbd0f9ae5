# --------------------------------------------------------------------------
# state, lock and temporary files

# The state dir is root's alone: root sources files from it (current.env,
# armed.env) and restores rulesets from it, so nothing in it may belong to
# another user. (Versions before 0.2 gave it to the SSH user; whatever another
# user owns in it is discarded, with a warning.)
umask 077
# verify only reads (it checks what it reads is root's: cmd_verify)
if [ "$CMD" != verify ]; then
  mkdir -p "$STATE_DIR" || die "cannot create state dir $STATE_DIR"
fi
if [ -d "$STATE_DIR" ]; then STATE_DIR=$(cd "$STATE_DIR" && pwd -P); fi
if [ "$CMD" != verify ]; then
  [ ! -L "$STATE_DIR" ] || die "state dir $STATE_DIR is a symbolic link"
  chown 0:0 "$STATE_DIR" || die "cannot make root the owner of $STATE_DIR"
  chmod 700 "$STATE_DIR"
fi
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
if [ "$CMD" != verify ]; then secure_state_dir || die "cannot check the state dir $STATE_DIR"; fi
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

if [ "$CMD" != verify ]; then
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/sfw-apply.XXXXXX") || die "cannot create a temporary directory"
fi

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

