cmd_confirm() {
  confirm_register # load-confirm: first action, before the lock (see "rollback timer")
  lock 60
  load_state
  _id=${APPLY_ID:-$ST_ID}
  # the drift check's apply that found nothing to do (apply --if-drifted)
  _skipped=
  if [ -f "$STATE_DIR/drift-skipped" ]; then _skipped=$(cat "$STATE_DIR/drift-skipped") || _skipped=; fi
  if [ -n "$APPLY_ID" ] && [ "$APPLY_ID" != "$ST_ID" ] && [ "$_skipped" = "$APPLY_ID" ]; then
    say "apply $APPLY_ID applied nothing (its drift check found the host in sync, or another apply waiting for its confirm): nothing to confirm"
    return 0
  fi
  [ -n "$ST_ID" ] || die_code 4 "nothing to confirm: no apply recorded in $STATE_DIR"
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
  # what verify compares with: the dumps the fingerprint check just read
  baseline_record "$_id" || warn "recording the confirmed ruleset for verify failed; verify compares with an older one"
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
      # verify compares with what the rollback restored from now on
      if fingerprint >/dev/null; then
        baseline_record "rollback-of-$_id" || warn "recording the restored ruleset for verify failed"
      else
        warn "recording the restored ruleset for verify failed"
      fi
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

