import { escapeTerraformTemplate } from './terraform-escape';

/**
 * The shell steps Terraform runs on a host, as small POSIX sh parts (each is linted by
 * `shellcheck -o all` in test/deploy/apply-script-lint.test.ts).
 *
 * Terraform's remote-exec uploads each step to a file (`script_path`), makes it mode 0777
 * and runs it. In the default place, /tmp, any local user can rewrite that file between
 * the upload and the run, and the step then runs the other user's code as the SSH user
 * (root, or a user with sudo). So every step runs from the SSH user's home directory:
 * - the first step (apply, or destroy) from a file directly in the home directory, which
 *   it checks no other user can enter; it creates `~/.stateful-firewall` (mode 0700) and
 *   the apply's own upload directory in it, checks `sudo -n`, writes the host's files and
 *   the apply script there (carried in the step itself, from the stack's output), and runs
 *   the apply script: one SSH connection;
 * - the confirm step, from a new SSH connection, runs from `~/.stateful-firewall`.
 * Each step deletes its own file first; Terraform then uploads an empty file in its place
 * (to wipe the script's content), which a later deploy's first step removes.
 *
 * The apply script, run as root, copies what it reads out of the upload directory after
 * checking owner and mode (see `stage_pending` in assets/sfw-apply.sh), and verifies each
 * file's sha256 against the digests passed on its command line.
 */

/** The SSH user's private directory, relative to its home directory. */
export const PRIVATE_DIR = '.stateful-firewall';

/** `script_path` of the first step (apply, destroy): directly in the SSH user's home directory. */
export const FIRST_SCRIPT_PATH = './.stateful-firewall-step-%RAND%.sh';

/** `script_path` of every later step: inside the private directory. */
export const STEP_SCRIPT_PATH = `./${PRIVATE_DIR}/step-%RAND%.sh`;

/** Marks where the apply id (a Terraform expression) goes in a step. */
export const ID_PLACEHOLDER = '@SFW_ID@';

/**
 * The checks and directories of the first step (after `set -eu`): leaves `$home`, `$d`
 * (the private directory) and `$user`, `$host` set, and `$d/<dir>` freshly created.
 */
function prepareChecks(dir: string): string {
  return `fail() { printf 'stateful-firewall: %s\\n' "$*" >&2; exit 1; }
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
find "$home" -maxdepth 1 -name '.stateful-firewall-*.sh' -type f -size 0 -mmin +2 -exec rm -f {} + 2>/dev/null || true
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

/** Ends the here-document that carries the apply script inside the apply step. */
export const SCRIPT_TERMINATOR = 'SFW_END_OF_APPLY_SCRIPT';
/** Ends the here-documents that carry the rendered files inside a host's bundle. */
export const FILE_TERMINATOR = 'SFW_END_OF_FILE';

/** The `templatefile` variables each template reads (Terraform template syntax). */
const TEMPLATE_ID = '${id}';

/** Template text: shell text escaped for Terraform, with placeholders replaced by interpolations. */
function template(text: string, replacements: { [placeholder: string]: string }): string {
  let out = escapeTerraformTemplate(text);
  for (const [placeholder, value] of Object.entries(replacements)) out = out.split(placeholder).join(value);
  return out;
}

/**
 * The apply step as a Terraform template (`templatefile`, one per stack), with the
 * variables `id` (the apply id), `bundle` (the host's bundle file) and `script` (the
 * apply script file). One SSH connection does everything before the confirm: the
 * checks of `prepareStep`, writing the host's files and the apply script into the
 * apply's own private upload directory, and running the apply script on them. The
 * files come from the synthesized output through `file()`: nothing is inlined into
 * cdk.tf.json.
 *
 * @param late whether the template also reads the variable `late` (the resource's
 * triggers: the `addr_*` ones hold the addresses Terraform knows only at apply time)
 * @param extraArgs further words for the apply command (trusted text), e.g. `--if-drifted`
 * for the drift check's step
 */
export function applyStepTemplate(late = false, extraArgs = ''): string {
  const lateValues = late ? `# the addresses Terraform knows only now (the resource's addr_* triggers), one per line;
# anything but address characters arrives as 'invalid' (the apply script names its construct)
cat >"$u/late.values" <<'${FILE_TERMINATOR}'
@SFW_LATE@${FILE_TERMINATOR}
` : '';
  const text = `rm -f "$0"
set -eu
umask 077
${prepareChecks(ID_PLACEHOLDER)}u=$d/${ID_PLACEHOLDER}
# the host's bundle (written at synth): its rendered files as here-documents, then
# SFW_SUDO and SFW_ARGS for the apply command
@SFW_BUNDLE@
${lateValues}cat >"$u/sfw-apply.sh" <<'${SCRIPT_TERMINATOR}'
@SFW_SCRIPT@
${SCRIPT_TERMINATOR}
set +e -f
# shellcheck disable=SC2086 # SFW_SUDO and SFW_ARGS are lists of words (written at synth)
$SFW_SUDO sh "$u/sfw-apply.sh" apply --dir "$u" --apply-id ${ID_PLACEHOLDER}${extraArgs ? ` ${extraArgs}` : ''} $SFW_ARGS
status=$?
rm -rf "$u"
exit "$status"
`;
  return template(text, { [ID_PLACEHOLDER]: TEMPLATE_ID, '@SFW_BUNDLE@': '${file(bundle)}', '@SFW_SCRIPT@': '${file(script)}', '@SFW_LATE@': LATE_VALUES_TEMPLATE });
}

/** Prefix of the triggers that hold addresses Terraform knows only at apply time. */
export const LATE_TRIGGER_PREFIX = 'addr_';

/**
 * Terraform template text: one `KEY VALUE` line per `addr_*` entry of the `late` map (the
 * resource's triggers); a value with anything but address characters (a newline that
 * would end the here-document, a space) becomes `invalid`, which the host refuses.
 */
const LATE_VALUES_TEMPLATE = `%{ for k, v in late ~}
%{ if substr(k, 0, ${LATE_TRIGGER_PREFIX.length}) == "${LATE_TRIGGER_PREFIX}" ~}
\${k} \${can(regex("^[0-9A-Fa-f:./-]+$", v)) ? v : "invalid"}
%{ endif ~}
%{ endfor ~}
`;

/**
 * The destroy step as a Terraform template (one per stack), with the variables `id`,
 * `script`, `sudo` (`sudo -n ` or empty), `backend` and `mode` (the teardown's own state:
 * what was installed, not what the configuration says now).
 */
export function teardownStepTemplate(stateDir: string): string {
  const dir = `destroy-${ID_PLACEHOLDER}`;
  const text = `rm -f "$0"
set -eu
umask 077
${prepareChecks(dir)}u=$d/${dir}
cat >"$u/sfw-apply.sh" <<'${SCRIPT_TERMINATOR}'
@SFW_SCRIPT@
${SCRIPT_TERMINATOR}
set +e
@SFW_SUDO@sh "$u/sfw-apply.sh" destroy --state-dir ${stateDir} --backend @SFW_BACKEND@ --mode @SFW_MODE@
status=$?
rm -rf "$u"
exit "$status"
`;
  return template(text, {
    [ID_PLACEHOLDER]: TEMPLATE_ID, '@SFW_SCRIPT@': '${file(script)}', '@SFW_SUDO@': '${sudo}', '@SFW_BACKEND@': '${backend}', '@SFW_MODE@': '${mode}',
  });
}

/**
 * A host's bundle: the shell text (included in the apply step) that writes the host's
 * rendered files into the upload directory `$u` and sets the apply command's words.
 * Each file is written exactly as given (an empty file with `:`); the digests passed to
 * the apply script are those of what is written.
 *
 * @param files the rendered files by name
 * @param sudo whether the SSH user is not root
 * @param args the apply script's arguments (besides --dir and --apply-id), digests excluded
 */
export function hostBundle(files: { [name: string]: string }, sudo: boolean, args: string, sha256: (text: string) => string): string {
  const lines: string[] = ['# stateful-firewall: one host\'s files and apply arguments (generated at synth)'];
  const digests: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    if (text === '') {
      lines.push(`: >"$u/${name}"`);
    } else {
      // a here-document ends with a newline: a file without one gets it (and its digest says so)
      const written = text.endsWith('\n') ? text : `${text}\n`;
      if (written.split('\n').includes(FILE_TERMINATOR)) {
        throw new Error(`${name} contains the line ${FILE_TERMINATOR}, which ends the bundle's here-documents`);
      }
      lines.push(`cat >"$u/${name}" <<'${FILE_TERMINATOR}'`, `${written}${FILE_TERMINATOR}`);
    }
    digests.push(`--sha256 ${name}=${sha256(text === '' ? '' : text.endsWith('\n') ? text : `${text}\n`)}`);
  }
  lines.push(`SFW_SUDO='${sudo ? 'sudo -n' : ''}'`, `SFW_ARGS='${[args, ...digests].join(' ')}'`);
  return lines.join('\n') + '\n';
}
