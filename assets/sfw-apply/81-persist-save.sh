# fp_section NAME: one section ("# NAME" header) of $TMP/persist.fp.
fp_section() { awk -v h="# $1" '$0 == h { s = 1; next } /^# / { s = 0 } s' "$TMP/persist.fp"; }

# save_ipt FAM OUT: the family's iptables-save into OUT, checked: the command
# succeeded, it printed at least one table and every table ends with COMMIT,
# and its library lines are those of the live ruleset.
save_ipt() {
  fam_vars "$1"
  if ! "$FAM_SAVE" >"$2" 2>"$TMP/persist.err"; then
    show_log "$TMP/persist.err"
    pfail "$FAM_SAVE failed; the persisted files were left as they were"
    return 1
  fi
  if ! awk '
      @awk save-complete.awk' "$2"; then
    pfail "$FAM_SAVE printed an empty or incomplete ruleset (a table without COMMIT); the persisted files were left as they were"
    return 1
  fi
  fp_section "$FAM_LABEL" >"$TMP/persist.want"
  awk "$AWK_FP" "$2" >"$TMP/persist.got"
  if ! cmp -s "$TMP/persist.want" "$TMP/persist.got"; then
    pfail "the $FAM_LABEL ruleset $FAM_SAVE printed does not hold the live library chains; the persisted files were left as they were"
    return 1
  fi
}

# save_ipset OUT: `ipset save` into OUT, checked against the live sfw-* sets.
save_ipset() {
  if ! ipset save >"$1" 2>"$TMP/persist.err"; then
    show_log "$TMP/persist.err"
    pfail "ipset save failed; the persisted files were left as they were"
    return 1
  fi
  fp_section ipset >"$TMP/persist.want"
  awk '
    @awk sfw-sets.awk
  ' "$1" | sort >"$TMP/persist.got"
  if [ ! -s "$TMP/persist.got" ] || ! cmp -s "$TMP/persist.want" "$TMP/persist.got"; then
    pfail "ipset save did not print the live sfw-* sets; the persisted files were left as they were"
    return 1
  fi
}

# save_nft OUT: the library table, checked, as a file nft -f can load again
# and again (the table is declared, deleted, then defined).
save_nft() {
  if ! nft -s list table inet "$ST_TABLE" >"$TMP/persist.table" 2>"$TMP/persist.err"; then
    show_log "$TMP/persist.err"
    pfail "nft list table inet $ST_TABLE failed; the persisted files were left as they were"
    return 1
  fi
  fp_section "nft table inet $ST_TABLE" >"$TMP/persist.want"
  sed 's/ expires [0-9a-z.]*//g' "$TMP/persist.table" >"$TMP/persist.got"
  if ! grep -qx "table inet $ST_TABLE {" "$TMP/persist.table" || ! cmp -s "$TMP/persist.want" "$TMP/persist.got"; then
    pfail "nft printed no complete table inet $ST_TABLE; the persisted files were left as they were"
    return 1
  fi
  {
    echo "# managed by stateful-firewall (apply $ST_ID); do not edit"
    echo "table inet $ST_TABLE"
    echo "delete table inet $ST_TABLE"
    cat "$TMP/persist.table"
  } >"$1"
}

# no_boot_mechanism WHY: confirm fails when nothing would load the ruleset.
no_boot_mechanism() {
  if [ "$ST_BACKEND" = iptables ]; then
    _what="install iptables-persistent and ipset-persistent (Debian, Ubuntu) or iptables-services and ipset-service (RHEL, Fedora)"
  else
    _what="install nftables with its nftables.service"
  fi
  pfail "nothing would restore the firewall at boot: $1, and the host has no systemd ($ROOT/etc/systemd is missing) to run the library's boot unit; $_what, then confirm again (the ruleset is live until the next reboot)"
}

# boot_unit_text: the library's boot unit.
boot_unit_text() {
  cat <<UNIT
$BOOT_MARK
[Unit]
Description=stateful-firewall: load the persisted firewall ($BOOT_DIR)
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target shutdown.target netfilter-persistent.service iptables.service ip6tables.service nftables.service
After=local-fs.target systemd-modules-load.service
Conflicts=shutdown.target
RequiresMountsFor=$STATE_DIR

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh $STATE_DIR/sfw-apply.sh boot --state-dir $STATE_DIR

[Install]
WantedBy=sysinit.target
UNIT
}

# boot_install FILES...: install the files ($TMP/boot/*) the boot command
# loads, the unit, and enable it.
boot_install() {
  case $STATE_DIR in *[!A-Za-z0-9/._-]*)
    pfail "state dir $STATE_DIR: the boot unit needs a path of letters, digits and /._- only"
    return 1 ;;
  esac
  write_env "$TMP/boot/boot.env" ST_ID ST_BACKEND ST_MODE ST_TABLE ST_V6 \
    ST_IPT_SAVE ST_IPT_RESTORE ST_IP6T_SAVE ST_IP6T_RESTORE || return 1
  _bd=$ROOT$BOOT_DIR
  mkdir -p "${_bd%/*}" || { pfail "cannot create ${BOOT_DIR%/*}"; return 1; }
  rm -rf "$_bd.sfw-new" "$_bd.sfw-old"
  if ! { cp -R "$TMP/boot" "$_bd.sfw-new" && chmod 700 "$_bd.sfw-new" && chmod 600 "$_bd.sfw-new"/*; }; then
    pfail "cannot write $BOOT_DIR"
    return 1
  fi
  if [ -d "$_bd" ]; then mv "$_bd" "$_bd.sfw-old" || return 1; fi
  mv "$_bd.sfw-new" "$_bd" || return 1
  rm -rf "$_bd.sfw-old"
  boot_unit_text | atomic_write "$ROOT$BOOT_UNIT_PATH" || { pfail "cannot write $BOOT_UNIT_PATH"; return 1; }
  chmod 644 "$ROOT$BOOT_UNIT_PATH" || { pfail "cannot make $BOOT_UNIT_PATH readable"; return 1; }
  _en=$(unit_enable "$BOOT_UNIT_PATH") || return 1
  say "persistence: boot unit $BOOT_UNIT_PATH, enabled ($_en): loads $* from $BOOT_DIR at boot, before network-pre.target and the firewall services"
}

# boot_remove [quiet]: the boot unit, its enable links and the boot files.
boot_remove() {
  _had=0
  for _l in "$ROOT"/etc/systemd/system/*.wants/"$BOOT_UNIT" "$ROOT"/etc/systemd/system/*.requires/"$BOOT_UNIT"; do
    if [ -L "$_l" ]; then
      rm -f "$_l"
      rmdir "${_l%/*}" 2>/dev/null || true
      _had=1
    fi
  done
  if [ -f "$ROOT$BOOT_UNIT_PATH" ] && grep -qxF "$BOOT_MARK" "$ROOT$BOOT_UNIT_PATH"; then
    rm -f "$ROOT$BOOT_UNIT_PATH"
    _had=1
  fi
  if [ -d "$ROOT$BOOT_DIR" ]; then rm -rf "$ROOT$BOOT_DIR"; _had=1; fi
  rmdir "$ROOT${BOOT_DIR%/*}" 2>/dev/null || true
  [ "$_had" = 1 ] || return 0
  systemd_reload
  [ "${1:-}" = quiet ] || say "persistence: removed the boot unit $BOOT_UNIT_PATH, its enable links and $BOOT_DIR"
}

# enable_units PATH...: enable conventional units found by unit_find.
enable_units() {
  for _u in "$@"; do
    _en=$(unit_enable "$_u") || return 1
    say "persistence: ${_u##*/} enabled ($_en)"
  done
}

