say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
DIE_CODE=1
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit "$DIE_CODE"; }
die_code() {
  _code=$1
  shift
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit "$_code"
}
have() { command -v "$1" >/dev/null 2>&1; }
need() { have "$1" || die "required command not found: $1"; }

# q VALUE: single-quote VALUE for a sourced env file.
q() {
  _q=$(printf '%s' "$1" | sed "s/'/'\\\\''/g") || return 1
  printf "'%s'" "$_q"
}

