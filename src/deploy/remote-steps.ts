/**
 * The shell steps Terraform runs on a host, as small POSIX sh parts (each is linted by
 * `shellcheck -o all` in test/deploy/apply-script-lint.test.ts).
 *
 * Terraform's remote-exec uploads each step to a file (`script_path`), makes it mode 0777
 * and runs it. In the default place, /tmp, any local user can rewrite that file between
 * the upload and the run, and the step then runs the other user's code as the SSH user
 * (root, or a user with sudo). So every step runs from the SSH user's home directory:
 * - the first step (`prepare`) from a file directly in the home directory, which it
 *   checks no other user can enter; it creates `~/.stateful-firewall` (mode 0700) and the
 *   apply's own upload directory in it, and checks `sudo -n`;
 * - every later step, and every uploaded file, lives in `~/.stateful-firewall`.
 * Each step deletes its own file first; Terraform then uploads an empty file in its place
 * (to wipe the script's content), which a later deploy's first step removes.
 *
 * The apply script, run as root, copies what it reads out of the upload directory after
 * checking owner and mode (see `stage_pending` in assets/sfw-apply.sh), and verifies each
 * file's sha256 against the digests passed on its command line.
 */

/** The SSH user's private directory, relative to its home directory. */
export const PRIVATE_DIR = '.stateful-firewall';

/** `script_path` of the first step: directly in the SSH user's home directory. */
export const PREPARE_SCRIPT_PATH = './.stateful-firewall-prepare-%RAND%.sh';

/** `script_path` of every later step: inside the private directory. */
export const STEP_SCRIPT_PATH = `./${PRIVATE_DIR}/step-%RAND%.sh`;

/** Marks where the apply id (a Terraform expression) goes in a step. */
export const ID_PLACEHOLDER = '@SFW_ID@';

/**
 * The first step, run as the SSH user from its home directory: checks that no other user
 * can enter the home directory, creates the private directory and the upload directory
 * `~/.stateful-firewall/<dir>`, and checks password-less sudo for a non-root user.
 *
 * @param dir the upload directory's name (contains `ID_PLACEHOLDER`)
 */
export function prepareStep(dir: string): string {
  return `rm -f "$0"
set -eu
umask 077
fail() { printf 'stateful-firewall: %s\\n' "$*" >&2; exit 1; }
me=$(id -u)
# names for the messages only
user=$(id -un 2>/dev/null) || user="uid $me"
host=$(hostname 2>/dev/null) || host="the host"
home=$(pwd -P)
# the steps run from files under the home directory: no other user may enter it
ls_home=$(ls -ldn "$home") || fail "cannot read the mode of the home directory $home"
perm=$(printf '%s\n' "$ls_home" | awk '{ print $1 " " $3 }')
case $perm in
  d????-?---" $me" | d????-?---." $me") ;;
  *) fail "the home directory $home of $user (mode and owner: $perm) is open to other users: they could change what this deploy runs as root; make it private (chmod 0700 $home) and owned by the SSH user" ;;
esac
d=$home/${PRIVATE_DIR}
[ ! -L "$d" ] || fail "$d is a symbolic link; remove it"
mkdir -p "$d"
chmod 0700 "$d"
ls_d=$(ls -ldn "$d") || fail "cannot read the owner of $d"
owner=$(printf '%s\n' "$ls_d" | awk '{ print $3 }')
[ "$owner" = "$me" ] || fail "$d is not owned by $user; remove it"
rm -rf "$d/${dir}"
mkdir "$d/${dir}"
# Terraform leaves each step's file behind, emptied: remove those of earlier deploys
find "$home" -maxdepth 1 -name '.stateful-firewall-prepare-*.sh' -type f -size 0 -mmin +2 -exec rm -f {} + 2>/dev/null || true
find "$d" -maxdepth 1 -name 'step-*.sh' -type f -size 0 -mmin +2 -exec rm -f {} + 2>/dev/null || true
if [ "$me" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "$user is not root and sudo is not installed on $host: install sudo and allow $user password-less sudo, or deploy as root"
  if ! err=$(sudo -n true 2>&1); then
    fail "$user cannot run sudo without a password on $host (sudo -n: $err): allow it in /etc/sudoers.d/stateful-firewall (visudo -f), e.g. '$user ALL=(root) NOPASSWD: ALL', or deploy as root"
  fi
fi
`;
}

/**
 * A later step: runs the apply script (as root through `sudo -n` for a non-root user).
 *
 * @param sudo whether the SSH user is not root
 * @param script the script's path (relative ones are under the home directory)
 * @param args the script's arguments (trusted text: no shell quoting is added)
 * @param cleanup a directory under the home directory to remove afterwards, if any
 */
export function scriptStep(sudo: boolean, script: string, args: string, cleanup?: string): string {
  const abs = (p: string) => (p.startsWith('/') ? p : `"$HOME_DIR"/${p}`);
  const run = `${sudo ? 'sudo -n ' : ''}sh ${abs(script)} ${args}`;
  const lines = ['rm -f "$0"', 'set -u'];
  // only where a path needs it; without it, paths would silently become relative to /
  if (`${run} ${cleanup === undefined ? '' : abs(cleanup)}`.includes('$HOME_DIR')) {
    lines.push('HOME_DIR=$(pwd -P) || exit 1');
  }
  if (cleanup === undefined) {
    lines.push(`exec ${run}`);
  } else {
    lines.push(`${run}`, 'status=$?', `rm -rf ${abs(cleanup)}`, 'exit "$status"');
  }
  return lines.join('\n') + '\n';
}
