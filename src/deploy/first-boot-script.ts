/**
 * The first-boot baseline as a machine's user data: a POSIX sh script (or the same script
 * as a cloud-config `bootcmd`) that loads a host's minimal ruleset the first time the
 * machine boots, before the first deploy.
 *
 * The script loads the files the host's backend rendered for the baseline policy, in the
 * library's own chains or table (the same names the deploy uses), so the first deploy
 * replaces the baseline in one transaction. Once a deploy has applied a ruleset
 * (`/var/lib/stateful-firewall/current.env` exists), the script does nothing: from then on
 * the deploy's own persistence loads the ruleset at boot.
 */
import { Backend } from '../core/backends/backend';
import { backendFor } from '../core/backends/registry';

/** How the first-boot baseline is handed to the machine. */
export enum UserDataFormat {
  /**
   * `#cloud-config` with the script as a `bootcmd` entry: it runs on every boot in
   * cloud-init's init stage, before sshd starts, until the first deploy.
   */
  CLOUD_CONFIG = 'cloud-config',
  /**
   * A `#!/bin/sh` script: cloud-init runs it once, late in the first boot (its final
   * stage, after sshd started); also usable with other boot tooling.
   */
  SHELL_SCRIPT = 'shell-script',
}

/** The largest user data EC2 accepts (bytes, before base64). */
export const EC2_USER_DATA_LIMIT = 16_384;

const DELIMITER = 'SFW_BASELINE_EOF';

/** The baseline's script: loads `files` (the backend's rendered files) unless a deploy happened. */
export function firstBootScript(origin: string, backend: Backend, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    if (text.split('\n').includes(DELIMITER)) throw new Error(`${origin}: the first-boot baseline's ${name} holds the line ${DELIMITER}`);
  }
  const lines = [
    '#!/bin/sh',
    `# stateful-firewall first-boot baseline for ${oneLine(origin)} (${backend}):`,
    '# established and related traffic, loopback, ICMPv6 neighbour discovery, the admin',
    '# access and the default action, until the first deploy replaces it.',
    'set -eu',
    'state=${SFW_STATE_DIR:-/var/lib/stateful-firewall}',
    'if [ -e "$state/current.env" ]; then',
    '  echo "stateful-firewall: a deploy installed the ruleset: first-boot baseline not loaded" >&2',
    '  exit 0',
    'fi',
    'umask 077',
    'tmp=$(mktemp -d)',
    'trap \'rm -rf "$tmp"\' EXIT',
  ];
  lines.push(...LOADERS[backendFor(backend).id](origin, files));
  lines.push(`echo "stateful-firewall: first-boot baseline of ${oneLine(origin).replace(/["$`\\]/g, '')} loaded" >&2`);
  return `${lines.join('\n')}\n`;
}

function heredoc(name: string, text: string): string[] {
  return [`cat >"$tmp/${name}" <<'${DELIMITER}'`, ...text.replace(/\n$/, '').split('\n'), DELIMITER];
}

/** The script's lines that load a backend's files (into the library's own chains or table, as the deploy names them). */
const LOADERS: Record<Backend, (origin: string, files: Record<string, string>) => string[]> = {
  [Backend.NFTABLES]: (origin, files) => {
    const text = files['ruleset.nft'];
    const table = /^table inet ([A-Za-z][A-Za-z0-9_]*) \{/m.exec(text ?? '')?.[1];
    if (text === undefined || table === undefined) throw new Error(`${origin}: the first-boot baseline has no nftables table`);
    return [
      ...heredoc('ruleset.nft', text),
      // the table is replaced whole (declared first, so deleting it never fails)
      `printf 'table inet ${table}\\ndelete table inet ${table}\\ninclude "%s"\\n' "$tmp/ruleset.nft" >"$tmp/tx.nft"`,
      'nft -f "$tmp/tx.nft"',
    ];
  },
  [Backend.IPTABLES]: (_origin, files) => {
    const lines: string[] = [];
    const restore = (family: string) => family === 'v4' ? '"${SFW_IPTABLES:-iptables}-restore"' : '"${SFW_IP6TABLES:-ip6tables}-restore"';
    if (files['sets.ipset'] !== undefined) lines.push(...heredoc('sets.ipset', files['sets.ipset']), 'ipset restore -exist <"$tmp/sets.ipset"');
    for (const family of ['v4', 'v6']) {
      const text = files[`rules.${family}`];
      if (text === undefined) continue;
      // --noflush: the library's chains are created and filled, other rules stay
      lines.push(...heredoc(`rules.${family}`, text), `${restore(family)} --noflush <"$tmp/rules.${family}"`);
    }
    return lines;
  },
};

/** The script as user data in `format`. */
export function firstBootUserData(script: string, format: UserDataFormat): string {
  if (format === UserDataFormat.SHELL_SCRIPT) return script;
  const indented = script.replace(/\n$/, '').split('\n').map((l) => (l === '' ? '' : `      ${l}`));
  return [
    '#cloud-config',
    '# stateful-firewall: the first-boot baseline, loaded on every boot until the first deploy',
    'bootcmd:',
    '  - - sh',
    '    - -c',
    '    - |',
    ...indented,
    '',
  ].join('\n');
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}
