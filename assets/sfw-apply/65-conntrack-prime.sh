# --------------------------------------------------------------------------
# conntrack: existing connections (the deploy's SSH session) are picked up
# mid-stream only with nf_conntrack_tcp_loose=1.

loose_check() {
  [ -w "$LOOSE" ] || return 0
  # unreadable: nothing to decide on; the load goes ahead as before
  _loose=$(cat "$LOOSE") || { warn "cannot read $LOOSE"; return 0; }
  if [ "$_loose" = 0 ]; then
    warn "net.netfilter.nf_conntrack_tcp_loose is 0: untracked connections (this session) would be INVALID; set to 1 until confirm/rollback"
    [ -f "$STATE_DIR/tcp_loose.orig" ] || echo 0 >"$STATE_DIR/tcp_loose.orig" || return 1
    echo 1 >"$LOOSE" || return 1
  fi
}

loose_restore() {
  [ -f "$STATE_DIR/tcp_loose.orig" ] || return 0
  # kept when the write fails, so a later confirm/rollback/destroy retries
  if [ -w "$LOOSE" ]; then cat "$STATE_DIR/tcp_loose.orig" >"$LOOSE" || return 1; fi
  rm -f "$STATE_DIR/tcp_loose.orig"
}

# ct_prime: an unhooked rule with a conntrack match turns connection
# tracking on in this network namespace without filtering anything; the
# load removes it again (SFW-PRIME chain / table inet sfw_prime).
ct_prime() {
  if [ "$BACKEND" = iptables ]; then
    for _f in 4 6; do
      [ "$_f" = 4 ] || [ "$_v6" = 1 ] || continue
      fam_vars "$_f"
      printf '*filter\n:SFW-PRIME - [0:0]\n-A SFW-PRIME -m conntrack --ctstate INVALID -j RETURN\nCOMMIT\n' |
        "$FAM_RESTORE" --noflush 2>/dev/null || warn "$FAM_LABEL: could not turn connection tracking on before the load"
    done
  else
    printf 'table inet sfw_prime {\n  chain prime {\n    ct state invalid counter\n  }\n}\n' |
      nft -f - 2>/dev/null || warn "could not turn connection tracking on before the load"
  fi
}

# ct_seed: add an ESTABLISHED conntrack entry for every established TCP
# socket that conntrack does not know yet; prints the number added.
ct_seed() {
  _est=$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established 2>/dev/null || echo 432000)
  { conntrack -L -f ipv4 -p tcp 2>/dev/null || true; conntrack -L -f ipv6 -p tcp 2>/dev/null || true; } >"$TMP/ct.list" || return 1
  ss -Htn state established >"$TMP/ss.list" 2>/dev/null || : >"$TMP/ss.list" || return 1
  awk -v ctf="$TMP/ct.list" '
    @awk ct-seed.awk
  ' "$TMP/ct.list" "$TMP/ss.list" >"$TMP/ct.seed" || return 1
  _n=0
  while read -r _pa _la _pp _lp; do
    if conntrack -I -p tcp -s "$_pa" -d "$_la" --sport "$_pp" --dport "$_lp" \
      -r "$_la" -q "$_pa" --reply-port-src "$_lp" --reply-port-dst "$_pp" \
      --state ESTABLISHED -u SEEN_REPLY,ASSURED -t "$_est" >/dev/null 2>&1; then
      _n=$((_n + 1))
    fi
  done <"$TMP/ct.seed"
  echo "$_n"
}

# ct_prepare: connections that exist before the first stateful ruleset
# (the deploy's own SSH session on a bare host) are not tracked. Picked up
# mid-stream their first packet is ctstate NEW without SYN, which a
# "NEW needs SYN, then REJECT" ruleset resets. Track them before the load.
ct_prepare() {
  # only for rulesets that match on connection state
  grep -Eqs -- '-m (conntrack|state) |ct (state|status) ' \
    "$DIR/rules.v4" "$DIR/rules.v6" "$DIR/ruleset.nft" || return 0
  ct_prime
  if [ "${SFW_CT_SEED:-1}" != 0 ] && have conntrack && have ss; then
    if _seeded=$(ct_seed); then
      say "conntrack: tracking on; $_seeded established connection(s) added as ESTABLISHED before the load"
    else
      # best effort: the load goes ahead (as with conntrack-tools missing)
      warn "conntrack: tracking on; adding the established connections failed"
    fi
  else
    # the caller's session carries this line, so the kernel sees its traffic
    say "conntrack: tracking on; waiting 1s so active connections are tracked (install conntrack-tools and ss to track idle ones too)"
    sleep 1
  fi
}

