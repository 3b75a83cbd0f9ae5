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

