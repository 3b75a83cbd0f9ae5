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

