# --------------------------------------------------------------------------
# rollback timer
#
# The confirm window counts only the deploy's own work, not the time a busy
# machine needs to get there (see README, "confirm window"):
# - `arm` (before the load) records a provisional deadline that also covers
#   the load: now + T + max(T, 60);
# - once the load is complete, `window_start` moves the deadline to now + T:
#   the countdown starts when the new ruleset is live;
# - `confirm`'s first action registers it (confirming.PID holds the apply id):
#   it reached the host over a fresh connection, which is what the window
#   waits for. When the deadline passes while a live confirm for the armed
#   apply is registered, the timer waits for it, at most another T seconds; a
#   confirm that fails or dies leaves the rollback to happen;
# - likewise for a new SSH connection from the deploy's client (recorded by
#   window_start) established after the load: it came through the new rules.
# Both timer kinds run the same loop (`_timer`): a detached process, or a
# transient systemd service (outside the SSH session's cgroup).
# A real lockout (no new connection reaches the host) rolls back at
# load completion + T.

# (armed.env, read at start-up, may have set A_WINDOW already)
A_WINDOW=${A_WINDOW:-} A_CLIENT=${A_CLIENT:-} A_SSHPORT=${A_SSHPORT:-}
IN_TIMER=
ROLLBACK_DEFERRED=
CONFIRMING=

# timer_pid: pid of the detached timer of the armed apply, if it runs.
# (setsid forks when it happens to lead a process group, so the timer
# records its own pid.)
timer_pid() {
  [ -n "$A_ID" ] || return 1
  for _p in "$(cat "$STATE_DIR/timer.pid" 2>/dev/null || true)" "$A_PID"; do
    [ -n "$_p" ] || continue
    kill -0 "$_p" 2>/dev/null || continue
    if [ -r "/proc/$_p/cmdline" ]; then
      tr '\0' ' ' <"/proc/$_p/cmdline" | grep -q "_timer.*$A_ID" || continue
    fi
    echo "$_p"
    return 0
  done
  return 1
}
timer_alive() { timer_pid >/dev/null; }

# armed_live: the armed record has a timer that will still fire.
armed_live() {
  [ -n "$A_ID" ] || return 1
  if [ "$A_KIND" = systemd ]; then
    systemctl is-active --quiet "$A_UNIT.service" 2>/dev/null || systemctl is-active --quiet "$A_UNIT.timer" 2>/dev/null
  else
    timer_alive
  fi
}

systemd_usable() {
  [ "${SFW_TIMER:-auto}" != detached ] || return 1
  have systemd-run && have systemctl && [ -d /run/systemd/system ] || return 1
  _comm=$(cat /proc/1/comm 2>/dev/null) || return 1
  [ "$_comm" = systemd ] || return 1
  # a unit would run in PID 1's network namespace, not necessarily ours
  # (unknown when either cannot be read: then not usable)
  _ns1=$(readlink /proc/1/ns/net 2>/dev/null) || return 1
  _ns=$(readlink /proc/self/ns/net 2>/dev/null) || return 1
  [ "$_ns1" = "$_ns" ]
}

write_armed() { write_env "$STATE_DIR/armed.env" A_ID A_KIND A_PID A_UNIT A_DEADLINE A_WINDOW A_CLIENT A_SSHPORT; }

# timelog MESSAGE: a line in rollback.log (the detached timer's log)
timelog() { printf '%s: %s: %s\n' "$PROG" "$(date)" "$*" >>"$STATE_DIR/rollback.log" 2>/dev/null || true; }

# arm ID SECONDS: provisional deadline (covers the load; window_start moves it)
arm() {
  _extra=$2
  [ "$_extra" -ge 60 ] || _extra=60
  _deadline=$(($(date +%s) + $2 + _extra))
  A_ID=$1 A_KIND='' A_PID='' A_UNIT='' A_DEADLINE=$_deadline A_WINDOW=$2 A_CLIENT='' A_SSHPORT=''
  if systemd_usable; then
    A_UNIT=sfw-rollback-$1 A_KIND=systemd
    # the timer exits at once unless it finds itself armed: record first
    write_armed
    if ! systemd-run --quiet --collect --unit="$A_UNIT" \
      /bin/sh "$STATE_DIR/sfw-apply.sh" _timer --state-dir "$STATE_DIR" --apply-id "$1" --deadline "$_deadline" \
      </dev/null >/dev/null 2>&1; then
      A_UNIT='' A_KIND=''
      if [ "${SFW_TIMER:-auto}" = systemd ]; then
        rm -f "$STATE_DIR/armed.env"
        die "systemd-run failed to arm the rollback timer"
      fi
    fi
  elif [ "${SFW_TIMER:-auto}" = systemd ]; then
    die "SFW_TIMER=systemd but systemd is not usable here"
  fi
  if [ -z "$A_KIND" ]; then
    A_KIND=detached
    write_armed
    # detached: own session, no terminal, stdio away from the caller so an
    # SSH session is never held open
    if have setsid; then
      setsid nohup /bin/sh "$STATE_DIR/sfw-apply.sh" _timer --state-dir "$STATE_DIR" \
        --apply-id "$1" --deadline "$_deadline" </dev/null >>"$STATE_DIR/rollback.log" 2>&1 &
    else
      nohup /bin/sh "$STATE_DIR/sfw-apply.sh" _timer --state-dir "$STATE_DIR" \
        --apply-id "$1" --deadline "$_deadline" </dev/null >>"$STATE_DIR/rollback.log" 2>&1 &
    fi
    A_PID=$!
  fi
  write_armed
}

# ssh_origin: "CLIENT_IP SERVER_PORT" of the SSH session this process runs in
# (SSH_CONNECTION, from our environment or an ancestor's: sudo drops it)
ssh_origin() {
  _sc=${SSH_CONNECTION:-}
  _p=$PPID
  while [ -z "$_sc" ] && [ -n "$_p" ] && [ "$_p" -gt 1 ] 2>/dev/null; do
    _sc=$(tr '\0' '\n' <"/proc/$_p/environ" 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p' | head -n 1)
    _p=$(awk '{ print $4 }' "/proc/$_p/stat" 2>/dev/null || true)
  done
  # shellcheck disable=SC2086 # split on purpose
  [ -n "$_sc" ] && set -- $_sc && [ $# -ge 4 ] || return 1
  echo "$1 $4"
}

# ssh_conns CLIENT PORT: peer ports of the established TCP connections from
# CLIENT to local port PORT
ssh_conns() {
  have ss || return 0
  ss -tn state established 2>/dev/null | awk -v c="$1" -v p="$2" '
    @awk ssh-conns.awk'
}

# window_start ID SECONDS: the load is complete; the confirm window starts now
# (the running timer re-reads the deadline every second). The deploy's SSH
# client and the connections it has now are recorded: a new one reaching the
# host later is the deploy's next step (see rollback_due).
window_start() {
  load_armed
  [ "$A_ID" = "$1" ] || return 0
  A_CLIENT='' A_SSHPORT=''
  if _o=$(ssh_origin); then
    A_CLIENT=${_o% *} A_SSHPORT=${_o#* }
    ssh_conns "$A_CLIENT" "$A_SSHPORT" >"$STATE_DIR/window.conns"
  fi
  A_DEADLINE=$(($(date +%s) + $2)) A_WINDOW=$2
  write_armed
  timelog "apply $1 loaded: rollback at $A_DEADLINE (in ${2}s) unless confirm runs${A_CLIENT:+ (deploy client $A_CLIENT, ssh port $A_SSHPORT)}"
}

# new_ssh_conn: peer port of an SSH connection from the deploy's client that
# was established after the load (none without a recorded client)
new_ssh_conn() {
  [ -n "$A_CLIENT" ] && [ -n "$A_SSHPORT" ] || return 1
  [ -f "$STATE_DIR/window.conns" ] || : >"$STATE_DIR/window.conns"
  _np=$(ssh_conns "$A_CLIENT" "$A_SSHPORT" | grep -vxF -f "$STATE_DIR/window.conns" | head -n 1)
  [ -n "$_np" ] || return 1
  echo "$_np"
}

# confirm_register: confirm's first action: a marker that a confirm for the
# apply reached the host (removed when this process exits).
confirm_register() {
  _cid=${APPLY_ID:-$ST_ID}
  [ -n "$_cid" ] || return 0
  CONFIRMING=$STATE_DIR/confirming.$$
  echo "$_cid" >"$CONFIRMING" 2>/dev/null || { CONFIRMING=; return 0; }
  trap 'rm -f "$CONFIRMING"; cleanup' EXIT
}

# confirm_live ID: pid of a running confirm registered for apply ID
confirm_live() {
  for _cf in "$STATE_DIR"/confirming.*; do
    [ -f "$_cf" ] || continue
    _cp=${_cf##*.}
    case $_cp in '' | *[!0-9]*) continue ;; esac
    _cid=$(head -n 1 "$_cf" 2>/dev/null) || _cid=
    if [ "$_cid" = "$1" ] && kill -0 "$_cp" 2>/dev/null &&
      { [ ! -r "/proc/$_cp/cmdline" ] || tr '\0' ' ' <"/proc/$_cp/cmdline" | grep -q ' confirm'; }; then
      echo "$_cp"
      return 0
    fi
    # a dead confirm's marker
    kill -0 "$_cp" 2>/dev/null || rm -f "$_cf"
  done
  return 1
}

# rollback_due: the armed apply's window is over (reads A_*; the timer's
# --deadline until the record has one). Prints why it waits, once per state.
TIMER_WAIT=
rollback_due() {
  _now=$(date +%s)
  _dl=${A_DEADLINE:-$DEADLINE}
  [ "$_now" -ge "$_dl" ] || return 1
  _win=${A_WINDOW:-$TIMEOUT}
  [ "$_now" -lt $((_dl + _win)) ] || return 0
  if _cp=$(confirm_live "$A_ID"); then
    if [ "$TIMER_WAIT" != "$_cp" ]; then
      TIMER_WAIT=$_cp
      say "$(date || true): deadline of apply $A_ID passed while its confirm (process $_cp) runs: waiting for it (at most ${_win}s)"
    fi
    return 1
  fi
  if _np=$(new_ssh_conn); then
    if [ "$TIMER_WAIT" != "tcp:$_np" ]; then
      TIMER_WAIT=tcp:$_np
      say "$(date || true): deadline of apply $A_ID passed while a new SSH connection from the deploy client ($A_CLIENT port $_np) is open: waiting for its confirm (at most ${_win}s)"
    fi
    return 1
  fi
  return 0
}

disarm() {
  load_armed
  [ -n "$A_ID" ] || return 0
  if [ "$A_KIND" = systemd ] && [ -n "$A_UNIT" ]; then
    # not from the unit itself (the timer rolling back)
    if [ -z "$IN_TIMER" ]; then
      systemctl stop "$A_UNIT.service" "$A_UNIT.timer" >/dev/null 2>&1 || true
    fi
  elif _tp=$(timer_pid) && [ "$_tp" != "$$" ]; then
    # the detached timer leads its own process group (setsid): signal the
    # group so its `sleep` goes too and it exits at once
    _pgid=$(awk '{ print $5 }' "/proc/$_tp/stat" 2>/dev/null) || _pgid=
    if [ "$_pgid" = "$_tp" ]; then
      kill -s TERM -- "-$_tp" 2>/dev/null || kill "$_tp" 2>/dev/null || true
    else
      kill "$_tp" 2>/dev/null || true
    fi
  fi
  rm -f "$STATE_DIR/timer.pid" "$STATE_DIR/window.conns"
  rm -f "$STATE_DIR/armed.env"
  for _cf in "$STATE_DIR"/confirming.*; do
    [ -f "$_cf" ] && [ "$_cf" != "$CONFIRMING" ] && rm -f "$_cf"
  done
  A_ID='' A_KIND='' A_PID='' A_UNIT='' A_DEADLINE='' A_WINDOW='' A_CLIENT='' A_SSHPORT=''
}

mark_rolled_back() {
  { echo "$1"; echo "$2"; date +%s; } >"$STATE_DIR/rolled-back"
}
rolled_back_id() { if [ -f "$STATE_DIR/rolled-back" ]; then head -n 1 "$STATE_DIR/rolled-back"; fi; }
confirmed_id() { if [ -f "$STATE_DIR/confirmed" ]; then head -n 1 "$STATE_DIR/confirmed"; fi; }

