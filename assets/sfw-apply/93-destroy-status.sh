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
    "$STATE_DIR/rolled-back" "$STATE_DIR/sfw-apply.sh" "$STATE_DIR/baseline" "$STATE_DIR/drift-skipped"
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
        @awk hooks-after.awk
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

