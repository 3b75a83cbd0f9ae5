# --------------------------------------------------------------------------
# persistence (reboot survival)
#
# confirm leaves something that restores the ruleset at boot, or fails:
# the host's convention (netfilter-persistent, iptables-services,
# nftables.service) with its service enabled, and/or the library's own boot
# unit (stateful-firewall.service: `sfw-apply.sh boot` loads the files in
# /etc/stateful-firewall/boot) where no convention is present, its service
# cannot be found, or it cannot load the sets before the rules. Every file
# is saved to a temporary file and checked before it replaces the old one.

BOOT_DIR=/etc/stateful-firewall/boot
BOOT_UNIT=stateful-firewall.service
BOOT_UNIT_PATH=/etc/systemd/system/$BOOT_UNIT
BOOT_MARK='# managed by stateful-firewall (boot unit); do not edit'

# atomic_write PATH: stdin -> PATH via a temporary file in the same dir.
atomic_write() {
  mkdir -p "$(dirname "$1")" || return 1
  cat >"$1.sfw-new" || { rm -f "$1.sfw-new"; return 1; }
  mv -f "$1.sfw-new" "$1"
}

# pfail MSG: report why persisting failed (returns 1).
pfail() {
  printf '%s: persistence: %s\n' "$PROG" "$*" >&2
  return 1
}

ipt_convention() {
  if [ -d "$ROOT/etc/iptables" ] || { [ -z "$ROOT" ] && have netfilter-persistent; }; then
    echo netfilter-persistent
  elif [ -f "$ROOT/etc/sysconfig/iptables-config" ] || [ -f "$ROOT/etc/sysconfig/iptables" ]; then
    echo iptables-services
  fi
}

# nft_convention: "debian CONF INCLUDE" or "rhel CONF INCLUDE".
nft_convention() {
  if [ -f "$ROOT/etc/sysconfig/nftables.conf" ]; then
    echo "rhel /etc/sysconfig/nftables.conf /etc/nftables/stateful-firewall.nft"
  elif [ -f "$ROOT/etc/nftables.conf" ] || [ -d "$ROOT/etc/nftables.d" ]; then
    echo "debian /etc/nftables.conf /etc/nftables.d/stateful-firewall.nft"
  fi
}

# netfilter-persistent loads /etc/iptables/ipsets only with its ipset plugin
# (package ipset-persistent); without it rules.v4 that uses sets fails whole.
nfp_ipset_plugin() {
  for _x in "$ROOT"/usr/share/netfilter-persistent/plugins.d/*ipset*; do
    if [ -f "$_x" ]; then return 0; fi
  done
  return 1
}

# systemd_present: the host has systemd to run a boot unit (with SFW_ROOT,
# only the tree under it counts).
systemd_present() { [ -d "$ROOT/etc/systemd" ] || { [ -z "$ROOT" ] && have systemctl; }; }

# systemd_running: systemd runs this host's units from these files (reload).
systemd_running() {
  [ -z "$ROOT" ] && have systemctl && [ -d /run/systemd/system ] || return 1
  _comm=$(cat /proc/1/comm 2>/dev/null) || return 1
  [ "$_comm" = systemd ] || return 1
  _mnt1=$(readlink /proc/1/ns/mnt 2>/dev/null) || return 1
  _mnt=$(readlink /proc/self/ns/mnt 2>/dev/null) || return 1
  [ "$_mnt1" = "$_mnt" ]
}
systemd_reload() {
  if systemd_running; then
    systemctl daemon-reload >/dev/null 2>&1 || warn "systemctl daemon-reload failed"
  fi
}

# unit_wants PATH: the .wants/.requires dirs of a unit's [Install] WantedBy=/
# RequiredBy= targets, one a line.
unit_wants() {
  awk '
    @awk unit-wants.awk
  ' "$ROOT$1"
}

# unit_find NAME: host path of the unit file systemd would use, if it is
# neither masked nor static (an [Install] target to enable it in).
unit_find() {
  if [ -L "$ROOT/etc/systemd/system/$1" ]; then
    _mask=$(readlink "$ROOT/etc/systemd/system/$1") || return 1
    [ "$_mask" != /dev/null ] || return 1
  fi
  for _d in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    if [ -f "$ROOT$_d/$1" ]; then
      _targets=$(unit_wants "$_d/$1") || return 1
      [ -n "$_targets" ] || return 1
      echo "$_d/$1"
      return 0
    fi
  done
  return 1
}

# unit_enable PATH: what `systemctl enable` does, without a running systemd:
# a symlink to PATH in the .wants/.requires dir of each [Install] WantedBy=/
# RequiredBy= target under /etc/systemd/system; prints those dirs.
unit_enable() {
  _name=${1##*/}
  _dirs=$(unit_wants "$1") || return 1
  [ -n "$_dirs" ] || { pfail "$_name has no [Install] WantedBy=/RequiredBy= target; it cannot be enabled"; return 1; }
  for _w in $_dirs; do
    _l=$ROOT/etc/systemd/system/$_w/$_name
    _cur=
    if [ -L "$_l" ]; then _cur=$(readlink "$_l") || _cur=; fi
    if [ "$_cur" = "$1" ]; then continue; fi
    if ! { mkdir -p "$ROOT/etc/systemd/system/$_w" && ln -sfn "$1" "$_l"; }; then
      pfail "cannot enable $_name ($_l)"
      return 1
    fi
  done
  printf '%s\n' "$_dirs" | tr '\n' ' ' | sed 's/ $//'
}

