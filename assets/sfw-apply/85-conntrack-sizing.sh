# --------------------------------------------------------------------------
# conntrack sizing: raise-only, so a host that already tracks more (Docker,
# a proxy) is never shrunk; what was there before is kept to undo it

CT_MAX_FILE=/proc/sys/net/netfilter/nf_conntrack_max
CT_HASH_FILE=/sys/module/nf_conntrack/parameters/hashsize
CT_SYSCTL_CONF=/etc/sysctl.d/90-stateful-firewall-conntrack.conf
CT_MODPROBE_CONF=/etc/modprobe.d/stateful-firewall-conntrack.conf
CT_MODULES_CONF=/etc/modules-load.d/stateful-firewall-conntrack.conf
CT_MARK='# managed by stateful-firewall (conntrack sizing); do not edit'

# ct_raise FILE WANT LABEL: raise a kernel value to WANT unless it is already
# at least that; fails (with a warning) where the value is read-only.
ct_raise() {
  if [ ! -r "$1" ]; then
    warn "conntrack: $3 not set: $1 is missing (nf_conntrack is not loaded)"
    return 1
  fi
  _cur=$(cat "$1") || return 1
  if [ "$_cur" -ge "$2" ]; then
    say "conntrack: $3 is $_cur, at least the $2 needed: unchanged"
    return 0
  fi
  if (echo "$2" >"$1") 2>/dev/null; then
    # the kernel may round the value: report what it took (the write succeeded either way)
    _new=$(cat "$1") || _new="$2 (not read back)"
    say "conntrack: $3 raised from $_cur to $_new"
    return 0
  fi
  warn "conntrack: $3 could not be raised from $_cur to $2: it is read-only here (a container or a network namespace); raise it on the host"
  return 1
}

ct_tune() {
  if [ -z "$CT_MAX" ]; then
    ct_untune || return 1
    return 0
  fi
  # "-" records a value that cannot be read (nf_conntrack not loaded)
  if [ ! -f "$STATE_DIR/conntrack.saved" ]; then
    _vmax=$(cat "$CT_MAX_FILE" 2>/dev/null) || _vmax=-
    _vbuckets=$(cat "$CT_HASH_FILE" 2>/dev/null) || _vbuckets=-
    printf '%s %s\n' "$_vmax" "$_vbuckets" >"$STATE_DIR/conntrack.saved" || return 1
  fi
  _ok=1
  # buckets first: the table is rehashed once, before it may grow
  ct_raise "$CT_HASH_FILE" "$CT_BUCKETS" hash-buckets || _ok=0
  ct_raise "$CT_MAX_FILE" "$CT_MAX" nf_conntrack_max || _ok=0
  _vmax=$(cat "$CT_MAX_FILE" 2>/dev/null) || _vmax=-
  _vbuckets=$(cat "$CT_HASH_FILE" 2>/dev/null) || _vbuckets=-
  printf '%s %s\n' "$_vmax" "$_vbuckets" >"$STATE_DIR/conntrack.applied" || return 1
  if [ "$_ok" = 0 ]; then
    say "persistence: conntrack sizing not persisted (not applied here)"
    return 0
  fi
  # the live values (at least the sizing), loaded at boot before sysctl runs
  _vmax=$(cat "$CT_MAX_FILE") || return 1
  _vbuckets=$(cat "$CT_HASH_FILE") || return 1
  printf '%s\nnet.netfilter.nf_conntrack_max = %s\n' "$CT_MARK" "$_vmax" | atomic_write "$ROOT$CT_SYSCTL_CONF" || return 1
  printf '%s\noptions nf_conntrack hashsize=%s\n' "$CT_MARK" "$_vbuckets" | atomic_write "$ROOT$CT_MODPROBE_CONF" || return 1
  printf '%s\nnf_conntrack\n' "$CT_MARK" | atomic_write "$ROOT$CT_MODULES_CONF" || return 1
  say "persistence: conntrack sizing ($CT_SYSCTL_CONF, $CT_MODPROBE_CONF, $CT_MODULES_CONF)"
}

# ct_untune: put back the values an earlier tune replaced (only those still as
# it left them) and remove its persistence files.
ct_untune() {
  if [ -f "$STATE_DIR/conntrack.saved" ]; then
    read -r _smax _sbuckets <"$STATE_DIR/conntrack.saved" || true
    _amax=- _abuckets=-
    if [ -f "$STATE_DIR/conntrack.applied" ]; then read -r _amax _abuckets <"$STATE_DIR/conntrack.applied" || true; fi
    for _c in "$CT_MAX_FILE $_smax $_amax nf_conntrack_max" "$CT_HASH_FILE $_sbuckets $_abuckets hash-buckets"; do
      # shellcheck disable=SC2086 # four words
      set -- $_c
      if [ "$2" = - ] || [ ! -r "$1" ]; then continue; fi
      _cur=$(cat "$1") || return 1
      if [ "$_cur" = "$2" ]; then continue; fi
      if [ "$_cur" != "$3" ]; then
        say "conntrack: $4 is $_cur, changed since the library set $3: left as it is"
      elif (echo "$2" >"$1") 2>/dev/null; then
        say "conntrack: $4 restored to $2"
      else
        warn "conntrack: $4 could not be restored to $2"
      fi
    done
    rm -f "$STATE_DIR/conntrack.saved" "$STATE_DIR/conntrack.applied" || return 1
  fi
  for _p in "$CT_SYSCTL_CONF" "$CT_MODPROBE_CONF" "$CT_MODULES_CONF"; do
    if [ -f "$ROOT$_p" ] && grep -qxF "$CT_MARK" "$ROOT$_p"; then
      rm -f "$ROOT$_p" || return 1
      say "persistence: removed $_p"
    fi
  done
}

cmd_tune() {
  lock 60
  load_state
  ct_tune
}

