# iptables commands: environment, then what the last apply used, then default.
ipt_tools() {
  IPT_SAVE=${SFW_IPTABLES_SAVE:-${SFW_IPTABLES:+$SFW_IPTABLES-save}}
  IPT_SAVE=${IPT_SAVE:-${ST_IPT_SAVE:-iptables-save}}
  IPT_RESTORE=${SFW_IPTABLES_RESTORE:-${SFW_IPTABLES:+$SFW_IPTABLES-restore}}
  IPT_RESTORE=${IPT_RESTORE:-${ST_IPT_RESTORE:-iptables-restore}}
  IP6T_SAVE=${SFW_IP6TABLES_SAVE:-${SFW_IP6TABLES:+$SFW_IP6TABLES-save}}
  IP6T_SAVE=${IP6T_SAVE:-${ST_IP6T_SAVE:-ip6tables-save}}
  IP6T_RESTORE=${SFW_IP6TABLES_RESTORE:-${SFW_IP6TABLES:+$SFW_IP6TABLES-restore}}
  IP6T_RESTORE=${IP6T_RESTORE:-${ST_IP6T_RESTORE:-ip6tables-restore}}
}

# variant SAVECMD: its version line, e.g. "iptables-save v1.8.9 (nf_tables)".
variant() { "$1" --version 2>/dev/null | head -n 1; }

nft_name() {
  if [ -n "$TABLE" ]; then echo "$TABLE"; return; fi
  if [ -n "$ST_TABLE" ]; then echo "$ST_TABLE"; return; fi
  if [ -f "$DIR/ruleset.nft" ]; then
    _n=$(nft_table_of "$DIR/ruleset.nft" 2>/dev/null || true)
    if [ -n "$_n" ]; then echo "$_n"; return; fi
  fi
  echo stateful_firewall
}

# nft_table_of FILE: NAME of the first `table inet NAME` line.
nft_table_of() {
  awk '
    @awk nft-table-of.awk
  ' "$1"
}

nft_has_table() { have nft && nft list table inet "$1" >/dev/null 2>&1; }

# tables_of FILE: table names of an iptables-save file.
tables_of() { awk '/^\*/ { printf "%s ", substr($0, 2) }' "$1"; }

# fam_vars 4|6: set FAM_SAVE FAM_RESTORE FAM_LABEL.
fam_vars() {
  if [ "$1" = 4 ]; then
    FAM_SAVE=$IPT_SAVE FAM_RESTORE=$IPT_RESTORE FAM_LABEL=ipv4
  else
    FAM_SAVE=$IP6T_SAVE FAM_RESTORE=$IP6T_RESTORE FAM_LABEL=ipv6
  fi
}

# run_tool LOG CMD...: run CMD, keep its stderr in LOG.
run_tool() {
  _log=$1
  shift
  "$@" 2>"$_log"
}
show_log() { if [ -s "$1" ]; then cat "$1" >&2; fi; }

