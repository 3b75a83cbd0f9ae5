# --------------------------------------------------------------------------
# fingerprint of the live library objects (compared by confirm)

# (each dump goes through a file: a failed dump must fail, not fingerprint
# as an empty ruleset; confirm records the files as the baseline of verify)
fingerprint() {
  if [ "$ST_BACKEND" = iptables ]; then
    echo '# ipv4'
    "$IPT_SAVE" >"$TMP/fp.v4" 2>/dev/null || { printf '%s: %s failed\n' "$PROG" "$IPT_SAVE" >&2; return 1; }
    awk "$AWK_FP" "$TMP/fp.v4" || return 1
    if [ "$ST_V6" = 1 ]; then
      echo '# ipv6'
      "$IP6T_SAVE" >"$TMP/fp.v6" 2>/dev/null || { printf '%s: %s failed\n' "$PROG" "$IP6T_SAVE" >&2; return 1; }
      awk "$AWK_FP" "$TMP/fp.v6" || return 1
    fi
    if have ipset; then
      echo '# ipset'
      # no usable ipset (no kernel support) fingerprints as no sets, as it
      # always did: a confirm then sees the sets differ if they appear
      ipset save >"$TMP/fp.ipset" 2>/dev/null || : >"$TMP/fp.ipset" || return 1
      awk '
        @awk sfw-sets.awk
      ' "$TMP/fp.ipset" >"$TMP/fp.sets" || return 1
      sort "$TMP/fp.sets" || return 1
    fi
  else
    echo "# nft table inet $ST_TABLE"
    if nft_has_table "$ST_TABLE"; then
      nft -s list table inet "$ST_TABLE" >"$TMP/fp.nft" || return 1
      sed 's/ expires [0-9a-z.]*//g' "$TMP/fp.nft" || return 1
    else
      : >"$TMP/fp.nft" || return 1
      echo absent
    fi
  fi
}

