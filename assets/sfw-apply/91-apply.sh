cmd_apply() {
  [ -d "$DIR" ] || die "pending ruleset directory not found: $DIR"
  DIR=${DIR%/}
  [ ! -L "$DIR" ] || die_code 3 "$DIR is a symbolic link; nothing was changed"
  DIR=$(cd "$DIR" && pwd -P)
  # the lock first: state is read and the upload staged only while no other
  # apply, confirm or rollback runs
  lock 60
  load_state
  # --if-drifted (the deployment's drift check): nothing to do while in sync
  if [ "$IF_DRIFTED" = 1 ] && ! drift_gate; then return 0; fi
  rm -f "$STATE_DIR/drift-skipped"
  stage_pending
  late_fill
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
        @awk nft-shared.awk
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

