# --------------------------------------------------------------------------
# commands

self_install() {
  if [ ! -f "$0" ] || ! grep -qx "$MARKER" "$0"; then
    die "cannot locate the script file ($0); run it from a file, not from stdin"
  fi
  # copy + rename: also safe when running from the state dir copy itself
  cp "$0" "$STATE_DIR/sfw-apply.sh.new"
  mv -f "$STATE_DIR/sfw-apply.sh.new" "$STATE_DIR/sfw-apply.sh"
}

# stage_pending: copy the ruleset files out of --dir into a private directory
# after checking them, so nothing another user (or a concurrent deploy) does to
# --dir afterwards reaches what is loaded. --dir must belong to root or to the
# user who ran sudo, and neither it, its parent nor a file in it may be
# writable by others; files must be regular files, not links.
stage_pending() {
  _owner=${SUDO_UID:-0}
  for _p in "$(dirname "$DIR")" "$DIR"; do
    [ ! -L "$_p" ] || die_code 3 "$_p is a symbolic link; nothing was changed"
    _ls=$(ls -ldn "$_p") || die_code 3 "cannot read the owner and mode of $_p; nothing was changed"
    # shellcheck disable=SC2086 # ls -ldn is the portable way to read owner and mode
    set -- $_ls
    case $3 in 0 | "$_owner") ;; *) die_code 3 "$_p belongs to uid $3, not to root or the deploying user ($_owner); nothing was changed" ;; esac
    case $1 in ?????w???? | ????????w?) die_code 3 "$_p is writable by other users ($1); nothing was changed" ;; esac
  done
  mkdir "$TMP/pending"
  for _n in rules.v4 rules.v6 sets.ipset ruleset.nft late.map late.values; do
    _f=$DIR/$_n
    if [ ! -e "$_f" ] && [ ! -L "$_f" ]; then continue; fi
    { [ -f "$_f" ] && [ ! -L "$_f" ]; } || die_code 3 "$_f is not a regular file; nothing was changed"
    _ls=$(ls -ln "$_f") || die_code 3 "cannot read the owner and mode of $_f; nothing was changed"
    # shellcheck disable=SC2086
    set -- $_ls
    case $3 in 0 | "$_owner") ;; *) die_code 3 "$_f belongs to uid $3, not to root or the deploying user ($_owner); nothing was changed" ;; esac
    case $1 in ?????w???? | ????????w?) die_code 3 "$_f is writable by other users ($1); nothing was changed" ;; esac
    cp "$_f" "$TMP/pending/$_n" || die_code 3 "cannot read $_f; nothing was changed"
  done
  for _d in $DIGESTS; do
    _n=${_d%%=*} _want=${_d#*=}
    [ -f "$TMP/pending/$_n" ] || die_code 3 "$_n is missing from $DIR (expected sha256 $_want): another deploy or user changed the upload; nothing was changed"
    need sha256sum
    sha256sum <"$TMP/pending/$_n" >"$TMP/sha256" || die_code 3 "sha256sum failed on $_n; nothing was changed"
    _got=$(awk '{ print $1 }' "$TMP/sha256")
    [ "$_got" = "$_want" ] || die_code 3 "$_n in $DIR is not the file this deploy uploaded (sha256 $_got, expected $_want): another deploy or user replaced it; nothing was changed"
  done
  DIR=$TMP/pending
}

# late_fill: the members of late-bound sets (addresses Terraform knows only at
# apply time): late.map (written at synth, digest-checked) names each value's
# set, family and declaring construct; late.values (rendered by Terraform in
# the apply step) holds the values. Every value is checked before anything
# changes; the staged sets.ipset gets `add` lines, the staged ruleset.nft an
# `elements` line in each set (what persists for boot is the filled file).
late_fill() {
  [ -f "$DIR/late.map" ] || return 0
  [ -f "$DIR/late.values" ] || die_code 3 "late.map came without late.values (the addresses Terraform knows at apply time); nothing was changed"
  awk "$AWK_LATE" "$DIR/late.values" "$DIR/late.map" >"$TMP/late.members" ||
    die_code 3 "an address Terraform supplied at apply time is unusable (see above); nothing was changed"
  if [ -f "$DIR/ruleset.nft" ]; then
    awk -v mf="$TMP/late.members" '
      BEGIN { while ((getline _l < mf) > 0) { split(_l, _p, " "); m[_p[1]] = (_p[1] in m) ? m[_p[1]] ", " _p[2] : _p[2] } }
      /^\tset [^ ]+ [{]$/ { cur = $2 }
      /^\t[}]$/ && cur != "" { if (cur in m) print "\t\telements = { " m[cur] " }"; cur = "" }
      { print }
    ' "$DIR/ruleset.nft" >"$TMP/late.nft" || die_code 3 "cannot fill the late-bound sets into ruleset.nft; nothing was changed"
    cp "$TMP/late.nft" "$DIR/ruleset.nft" || die_code 3 "cannot write the staged ruleset.nft; nothing was changed"
  elif [ -f "$DIR/sets.ipset" ]; then
    awk '{ print "add " $1 " " $2 }' "$TMP/late.members" >>"$DIR/sets.ipset" ||
      die_code 3 "cannot fill the late-bound sets into sets.ipset; nothing was changed"
  fi
  _n=$(awk 'END { print NR }' "$TMP/late.members")
  say "late-bound sets: $_n member(s) known at apply time checked and filled in"
}

