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
      @awk keep-tables.awk
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

