persist() {
  fingerprint >"$TMP/persist.fp"
  rm -rf "${TMP:?}/boot"
  mkdir "$TMP/boot" || return 1
  _role='' _why='' _units=''
  if [ "$ST_BACKEND" = iptables ]; then
    # 1. save and check everything before anything is written
    for _f in 4 6; do
      [ "$_f" = 4 ] || [ "$ST_V6" = 1 ] || continue
      save_ipt "$_f" "$TMP/persist.v$_f" || return 1
    done
    _sets=0
    if have ipset; then
      # the saved rules may use the library's sets: a failing list must not read as "none"
      if ! ipset list -n >"$TMP/persist.setnames" 2>"$TMP/persist.err"; then
        show_log "$TMP/persist.err"
        pfail "ipset list failed; the persisted files were left as they were"
        return 1
      fi
      grep -q '^sfw-' "$TMP/persist.setnames" && _sets=1
    fi
    if [ "$_sets" = 1 ]; then
      save_ipset "$TMP/persist.ipset" || return 1
    fi
    # 2. what restores it at boot
    _conv=$(ipt_convention)
    _setsok=0
    case $_conv in
      netfilter-persistent)
        _p4=/etc/iptables/rules.v4 _p6=/etc/iptables/rules.v6 _ps=/etc/iptables/ipsets
        _svcs=netfilter-persistent.service
        if nfp_ipset_plugin; then _setsok=1; fi ;;
      iptables-services)
        _p4=/etc/sysconfig/iptables _p6=/etc/sysconfig/ip6tables _ps=/etc/sysconfig/ipset
        _svcs=iptables.service
        [ "$ST_V6" = 1 ] && _svcs="$_svcs ip6tables.service"
        if [ "$_sets" = 1 ] && _u=$(unit_find ipset.service); then _setsok=1; _units=$_u; fi ;;
      *)
        _role=all _why="no persistence convention found (netfilter-persistent, iptables-services)" ;;
    esac
    if [ -n "$_conv" ]; then
      for _s in $_svcs; do
        if _u=$(unit_find "$_s"); then
          _units="$_units $_u"
        else
          _role=all _why="$_conv is configured but $_s is missing, masked or static"
        fi
      done
      if [ -z "$_role" ] && [ "$_sets" = 1 ] && [ "$_setsok" = 0 ]; then
        _role=sets _why="$_conv cannot load the sets before the rules"
      fi
    fi
    if [ -n "$_role" ] && ! systemd_present; then no_boot_mechanism "$_why"; return 1; fi
    # 3. write
    if [ -n "$_conv" ]; then
      atomic_write "$ROOT$_p4" <"$TMP/persist.v4" || { pfail "cannot write $_p4"; return 1; }
      _written=$_p4
      if [ "$ST_V6" = 1 ]; then
        atomic_write "$ROOT$_p6" <"$TMP/persist.v6" || { pfail "cannot write $_p6"; return 1; }
        _written="$_written $_p6"
      fi
      if [ "$_sets" = 1 ] && [ "$_setsok" = 1 ]; then
        atomic_write "$ROOT$_ps" <"$TMP/persist.ipset" || { pfail "cannot write $_ps"; return 1; }
        _written="$_written $_ps"
      fi
      say "persistence: $_conv ($_written)"
    fi
    if [ "$_sets" = 1 ] && { [ "$_role" = all ] || [ "$_role" = sets ]; }; then
      ipset_lib "$TMP/persist.ipset" >"$TMP/boot/sets.ipset"
    fi
    if [ "$_role" = all ]; then
      for _f in 4 6; do
        [ "$_f" = 4 ] || [ "$ST_V6" = 1 ] || continue
        if [ "$ST_MODE" = exclusive ]; then
          cp "$TMP/persist.v$_f" "$TMP/boot/rules.v$_f"
        else
          awk "$AWK_EXTRACT" "$TMP/persist.v$_f" >"$TMP/boot/rules.v$_f"
        fi
      done
    fi
  else
    save_nft "$TMP/persist.inc" || return 1
    _conv=$(nft_convention)
    if [ -z "$_conv" ]; then
      _role=all _why="no persistence convention found (nftables.service: /etc/nftables.conf or /etc/sysconfig/nftables.conf)"
    elif _u=$(unit_find nftables.service); then
      _units=$_u
    else
      _x=${_conv#* }
      _role=all _why="${_x%% *} is there but nftables.service is missing, masked or static"
    fi
    if [ -n "$_role" ] && ! systemd_present; then no_boot_mechanism "$_why"; return 1; fi
    if [ -n "$_conv" ]; then
      # shellcheck disable=SC2086 # three words
      set -- $_conv
      _conf=$2 _inc=$3
      atomic_write "$ROOT$_inc" <"$TMP/persist.inc" || { pfail "cannot write $_inc"; return 1; }
      if [ "$ST_MODE" = exclusive ]; then
        if [ -f "$ROOT$_conf" ] && ! grep -q '^# managed by stateful-firewall' "$ROOT$_conf" &&
          [ ! -f "$ROOT$_conf.sfw-orig" ]; then
          cp -p "$ROOT$_conf" "$ROOT$_conf.sfw-orig" || return 1
        fi
        printf '#!/usr/sbin/nft -f\n# managed by stateful-firewall (exclusive mode)\nflush ruleset\ninclude "%s"\n' "$_inc" |
          atomic_write "$ROOT$_conf" || { pfail "cannot write $_conf"; return 1; }
      elif ! grep -Fqx "include \"$_inc\"" "$ROOT$_conf" 2>/dev/null; then
        printf 'include "%s"\n' "$_inc" >>"$ROOT$_conf" || { pfail "cannot write $_conf"; return 1; }
      fi
      say "persistence: nftables.service ($1: $_inc included from $_conf)"
    fi
    if [ "$_role" = all ]; then
      {
        if [ "$ST_MODE" = exclusive ]; then echo 'flush ruleset'; fi
        cat "$TMP/persist.inc"
      } >"$TMP/boot/ruleset.nft"
    fi
  fi
  # shellcheck disable=SC2086 # unit paths have no blanks
  enable_units $_units || return 1
  if [ -n "$_role" ]; then
    say "persistence: $_why: installing the library's boot unit"
    _files=
    for _x in sets.ipset rules.v4 rules.v6 ruleset.nft; do
      if [ -f "$TMP/boot/$_x" ]; then _files="$_files $_x"; fi
    done
    # shellcheck disable=SC2086 # file names without blanks
    boot_install $_files || return 1
  else
    boot_remove quiet
  fi
  systemd_reload
}

unpersist() {
  boot_remove
  for _p in /etc/iptables/rules.v4 /etc/iptables/rules.v6 /etc/sysconfig/iptables /etc/sysconfig/ip6tables; do
    [ -f "$ROOT$_p" ] || continue
    awk "$AWK_FP" "$ROOT$_p" | grep -q . || continue
    awk "$AWK_STRIP" "$ROOT$_p" | atomic_write "$ROOT$_p"
    say "persistence: removed the library chains from $_p"
  done
  for _p in /etc/iptables/ipsets /etc/sysconfig/ipset; do
    [ -f "$ROOT$_p" ] || continue
    awk '($1 == "create" || $1 == "add") && $2 ~ /^sfw-/ { f = 1 } END { exit !f }' "$ROOT$_p" || continue
    awk '!(($1 == "create" || $1 == "add") && $2 ~ /^sfw-/)' "$ROOT$_p" | atomic_write "$ROOT$_p"
    say "persistence: removed the library sets from $_p"
  done
  for _c in "/etc/nftables.conf /etc/nftables.d/stateful-firewall.nft" \
    "/etc/sysconfig/nftables.conf /etc/nftables/stateful-firewall.nft"; do
    # shellcheck disable=SC2086 # two words
    set -- $_c
    if [ -f "$ROOT$2" ]; then
      rm -f "$ROOT$2"
      say "persistence: removed $2"
    fi
    [ -f "$ROOT$1" ] || continue
    if grep -q '^# managed by stateful-firewall' "$ROOT$1" && [ -f "$ROOT$1.sfw-orig" ]; then
      mv -f "$ROOT$1.sfw-orig" "$ROOT$1"
      say "persistence: restored the original $1"
    elif grep -Fqx "include \"$2\"" "$ROOT$1"; then
      grep -Fvx "include \"$2\"" "$ROOT$1" | atomic_write "$ROOT$1"
      say "persistence: removed the include line from $1"
    fi
  done
}

