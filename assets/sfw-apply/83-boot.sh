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

