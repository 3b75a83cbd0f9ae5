/** The library's objects in iptables-save output, for the deploy labs. */
/** iptables-save text without comment lines, counters zeroed. */
export function normalizeSave(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ' [0:0]'))
    .join('\n');
}

export function target(line: string): string {
  const m = / -[jg] (\S+)/.exec(line);
  return m ? m[1] : '';
}
export const isLibraryLine = (l: string) => l.startsWith(':SFW-') || l.startsWith('-A SFW-') || (l.startsWith('-A ') && target(l).startsWith('SFW-'));

/** The library's objects (SFW-* chains, their rules, the hooks jumping to them) by table and chain. */
export function library(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let table = '';
  for (const line of normalizeSave(text).split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1);
    } else if (line.startsWith(':SFW-')) {
      ((out[table] ??= {})[line.split(' ')[0].slice(1)] ??= []);
    } else if (isLibraryLine(line)) {
      ((out[table] ??= {})[line.split(' ')[1]] ??= []).push(line);
    }
  }
  return out;
}

/** Everything that is not the library's. */
export function foreign(text: string): string[] {
  return normalizeSave(text).split('\n').filter((l) => !isLibraryLine(l));
}

