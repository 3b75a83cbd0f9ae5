import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Construct, IConstruct } from 'constructs';
import { AdminAccess } from './admin-access';
import { declarationsUnder } from './declarations';
import { HostGroup } from './host-group';
import { StatefulHost } from './stateful-host';
import { formatOpenings, reachability, reachabilityJson, reachabilityMarkdown, ReachabilityMatrix } from '../core/diff/reachability';
import { isTerraformToken, Peer } from '../core/values/peer';
import { onSynthesize } from '../synth/synth-session';
import { stackOf } from '../synth/terraform-lib';


/** A flow in the diagram: from a source (host, group, or peer text) to a host or group, on ports. */
interface Flow {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly admin: boolean;
}

interface Graph {
  readonly groups: { id: string; label: string; hosts: string[]; collapsed: boolean }[];
  readonly hosts: { id: string; label: string }[];
  readonly externals: { id: string; label: string }[];
  readonly flows: Flow[];
}

/**
 * Options of a fleet diagram.
 */
export interface FleetDiagramOptions {
  /**
   * Groups with more hosts than this are drawn as one node (with the host count).
   *
   * @default 6
   */
  readonly maxHostsPerGroup?: number;
}

/**
 * Node ids both Mermaid and DOT accept: letters, digits and `_`. A name whose id another
 * name already has (`web-1` and `web_1` both become `web_1`) gets a short hash of itself
 * appended, so they stay two nodes.
 */
function nodeIds(): (kind: string, name: string) => string {
  const byName = new Map<string, string>();
  const taken = new Set<string>();
  return (kind, name) => {
    const key = `${kind}:${name}`;
    let id = byName.get(key);
    if (id === undefined) {
      id = `${kind}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
      if (taken.has(id)) id = `${id}_${createHash('sha256').update(name).digest('hex').slice(0, 6)}`;
      taken.add(id);
      byName.set(key, id);
    }
    return id;
  };
}

/** A label inside Mermaid's double quotes: quotes as the entity Mermaid knows. */
function mermaidText(text: string): string {
  return text.replace(/"/g, '#quot;');
}

/** A label inside DOT's double quotes (the `\n` line breaks stay). */
function dotText(text: string): string {
  return text.replace(/\\(?!n)/g, '\\\\').replace(/"/g, '\\"');
}

/** Hosts, groups and allowed flows of a scope (usually a stack). */
function graph(scope: IConstruct, options: FleetDiagramOptions, reach?: ReachabilityMatrix): Graph {
  const max = options.maxHostsPerGroup ?? 6;
  const all = scope.node.findAll();
  const groups = all.filter(HostGroup.isHostGroup);
  const hosts = all.filter(StatefulHost.isStatefulHost);
  const nodeId = nodeIds();
  const idOf = (c: IConstruct) => (c instanceof HostGroup ? nodeId('g', c.node.path) : nodeId('h', c.node.path));
  const placed = new Map<StatefulHost, HostGroup>();
  const g = groups.map((group) => {
    const members = group.hosts.filter((h) => !placed.has(h));
    members.forEach((h) => placed.set(h, group));
    return { id: idOf(group), label: `${group.node.id} (${group.hosts.length} hosts)`, hosts: members.map(idOf), collapsed: group.hosts.length > max };
  });
  const externals = new Map<string, string>();
  let flows: Flow[] = [];
  for (const target of [...groups, ...hosts]) {
    for (const decl of declarationsUnder(target)) {
      for (const peer of decl.peers) {
        const label = peer.isLateBound ? `${decl.node.id}: ${peer.toString()}` : peer.toString();
        const id = nodeId('p', label);
        externals.set(id, label);
        flows.push({ from: id, to: idOf(target), label: decl.ports.join(', '), admin: decl instanceof AdminAccess });
      }
    }
    for (const rule of target.connections.ingressRules) {
      // a Peer is drawn as the declarations' peers are: an external node (flows between
      // the fleet's hosts and groups come from the reachability matrix below)
      if (rule.from instanceof Peer) {
        const label = rule.from.toString();
        const from = nodeId('p', label);
        externals.set(from, label);
        flows.push({ from, to: idOf(target), label: rule.ports.join(', '), admin: false });
        continue;
      }
      // a source whose addresses Terraform knows only at deploy: its sets are empty at synth,
      // so the matrix cannot see the flow; drawn from the connection (it compiles, into
      // late-bound sets). A source without addresses opens nothing (and fails validation).
      const peer = rule.from.toPeer();
      if (peer === undefined || !peer.isLateBound) continue;
      flows.push({ from: idOf(rule.from as unknown as IConstruct), to: idOf(target), label: `${rule.ports.join(', ')} (known at deploy)`, admin: false });
    }
  }
  // flows between the fleet's hosts and groups: what the compiled rulesets let the source
  // open to the target (its OUTPUT and the target's INPUT), beyond what the target opens to
  // every address (drawn above from its declarations)
  const matrix = reach ?? fleetReachability(scope);
  const byName = new Map(hosts.map((h) => [h.node.path, h]));
  const grouped = new Set(groups.flatMap((x) => x.hosts));
  const groupByPath = new Map(groups.map((x) => [x.node.path, x]));
  for (const c of matrix.groupCells) {
    if (c.specific.length === 0) continue;
    flows.push({ from: idOf(groupByPath.get(c.from)!), to: idOf(groupByPath.get(c.to)!), label: formatOpenings(c.specific), admin: false });
  }
  for (const c of matrix.cells) {
    const from = byName.get(c.from)!;
    const to = byName.get(c.to)!;
    // pairs inside groups are drawn by their groups' cells
    if (c.specific.length === 0 || (grouped.has(from) && grouped.has(to))) continue;
    flows.push({ from: idOf(from), to: idOf(to), label: formatOpenings(c.specific), admin: false });
  }
  // a flow every member of a group has (e.g. from an aspect) is drawn once, to the group
  for (const group of groups) {
    const members = group.hosts.map(idOf);
    if (members.length === 0) continue;
    const key = (f: Flow) => `${f.from}|${f.label}|${f.admin}`;
    const common = [...new Set(flows.filter((f) => f.to === members[0]).map(key))].filter((k) =>
      members.every((m) => flows.some((f) => f.to === m && key(f) === k)));
    for (const k of common) {
      const sample = flows.find((f) => f.to === members[0] && key(f) === k)!;
      flows = flows.filter((f) => !(members.includes(f.to) && key(f) === k));
      flows.push({ ...sample, to: idOf(group) });
    }
  }
  // flows to or from the hosts of a collapsed group end at the group
  const collapsedOf = new Map<string, string>();
  for (const group of g) if (group.collapsed) for (const h of group.hosts) collapsedOf.set(h, group.id);
  const seen = new Set<string>();
  flows = flows
    .map((f) => ({ ...f, from: collapsedOf.get(f.from) ?? f.from, to: collapsedOf.get(f.to) ?? f.to }))
    .filter((f) => {
      const k = `${f.from}|${f.to}|${f.label}|${f.admin}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  return {
    groups: g,
    hosts: hosts.filter((h) => !collapsedOf.has(idOf(h))).map((h) => ({ id: idOf(h), label: `${h.hostName}${h.addresses.length ? `\\n${h.addresses.map((a) => (isTerraformToken(a) ? 'address known at deploy' : a)).join(', ')}` : ''}` })),
    externals: [...externals].map(([id, label]) => ({ id, label })),
    flows,
  };
}

/** The reachability matrix of the hosts and groups below `scope`, from their compiled rulesets (hosts and groups by construct path). */
function fleetReachability(scope: IConstruct): ReachabilityMatrix {
  const all = scope.node.findAll();
  const hosts = all.filter(StatefulHost.isStatefulHost);
  const groups = all.filter(HostGroup.isHostGroup);
  return reachability(
    hosts.map((h) => ({
      name: h.node.path, addresses: h.addresses.length > 0 ? h.addresses : [h.address], backend: h.backend, model: h.ruleset.model,
    })),
    groups.map((g) => ({ name: g.node.path, members: g.hosts.map((h) => h.node.path) })),
  );
}

/** The matrix with the names the reader knows: host names and group ids. */
function readableMatrix(scope: IConstruct, m: ReachabilityMatrix): ReachabilityMatrix {
  const all = scope.node.findAll();
  const names = new Map<string, string>();
  for (const h of all.filter(StatefulHost.isStatefulHost)) names.set(h.node.path, h.hostName);
  for (const g of all.filter(HostGroup.isHostGroup)) names.set(g.node.path, g.node.id);
  const n = (p: string) => names.get(p) ?? p;
  return {
    hosts: m.hosts.map(n),
    groups: m.groups.map((g) => ({ name: n(g.name), members: g.members.map(n) })),
    cells: m.cells.map((c) => ({ ...c, from: n(c.from), to: n(c.to) })),
    groupCells: m.groupCells.map((c) => ({ ...c, from: n(c.from), to: n(c.to) })),
    openToAny: Object.fromEntries(Object.entries(m.openToAny).map(([k, v]) => [n(k), v])),
  };
}

/**
 * The fleet as a diagram: hosts (inside their first group), groups, outside peers, and
 * the flows the rulesets allow (between the fleet's hosts and groups: computed from their
 * compiled rulesets, the source's OUTPUT and the target's INPUT). Added to a stack, it
 * writes `firewall/fleet.mmd`, `firewall/fleet.dot`, the reachability matrix
 * `firewall/reachability.md` and `firewall/reachability.json`, and, when Graphviz's
 * `dot` is installed, `firewall/fleet.svg`
 * with the synthesized output.
 */
export class FleetDiagram extends Construct {
  /** The fleet below `scope` as a Mermaid flowchart. */
  public static mermaid(scope: IConstruct, options: FleetDiagramOptions = {}): string {
    return mermaidOf(graph(scope, options));
  }

  /** The fleet below `scope` as a Graphviz DOT digraph. */
  public static dot(scope: IConstruct, options: FleetDiagramOptions = {}): string {
    return dotOf(graph(scope, options));
  }

  public constructor(scope: Construct, id: string, private readonly options: FleetDiagramOptions = {}) {
    super(scope, id);
    onSynthesize(this, (_session, stackDir) => this.write(stackDir));
  }

  private write(stackDir: string): void {
    const stack = stackOf(this);
    const dir = path.join(stackDir, 'firewall');
    fs.mkdirSync(dir, { recursive: true });
    // the matrix is computed once, for the diagrams and the matrix files
    const reach = fleetReachability(stack);
    const g = graph(stack, this.options, reach);
    const dot = dotOf(g);
    fs.writeFileSync(path.join(dir, 'fleet.mmd'), mermaidOf(g));
    fs.writeFileSync(path.join(dir, 'fleet.dot'), dot);
    const matrix = readableMatrix(stack, reach);
    fs.writeFileSync(path.join(dir, 'reachability.md'), reachabilityMarkdown(matrix));
    fs.writeFileSync(path.join(dir, 'reachability.json'), reachabilityJson(matrix));
    const svg = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
    if (svg.status === 0) fs.writeFileSync(path.join(dir, 'fleet.svg'), svg.stdout);
  }
}

function mermaidOf(g: Graph): string {
  const lines = ['flowchart LR'];
  const hostLabel = new Map(g.hosts.map((h) => [h.id, mermaidText(h.label).replace('\\n', '<br/>')]));
  const inGroup = new Set(g.groups.flatMap((x) => x.hosts));
  for (const group of g.groups) {
    if (group.collapsed) {
      lines.push(`  ${group.id}[["${mermaidText(group.label)}"]]`);
      continue;
    }
    lines.push(`  subgraph ${group.id}["${mermaidText(group.label)}"]`);
    for (const h of group.hosts) lines.push(`    ${h}["${hostLabel.get(h)}"]`);
    lines.push('  end');
  }
  for (const h of g.hosts) if (!inGroup.has(h.id)) lines.push(`  ${h.id}["${hostLabel.get(h.id)}"]`);
  for (const e of g.externals) lines.push(`  ${e.id}(("${mermaidText(e.label)}"))`);
  for (const f of g.flows) lines.push(`  ${f.from} ${f.admin ? '-.' : '--'} "${mermaidText(f.label)}" ${f.admin ? '.->' : '-->'} ${f.to}`);
  return `${lines.join('\n')}\n`;
}

function dotOf(g: Graph): string {
  const lines = ['digraph fleet {', '  rankdir=LR;', '  compound=true;', '  node [shape=box, fontname="Helvetica"];'];
  const anchor = new Map<string, string>();
  for (const group of g.groups) {
    if (group.collapsed) {
      lines.push(`  ${group.id} [label="${dotText(group.label)}", shape=box3d];`);
      continue;
    }
    lines.push(`  subgraph cluster_${group.id} {`, `    label="${dotText(group.label)}";`);
    // an invisible anchor lets flows end at the group's border
    lines.push(`    ${group.id} [shape=point, style=invis];`);
    for (const h of group.hosts) lines.push(`    ${h};`);
    lines.push('  }');
    anchor.set(group.id, `cluster_${group.id}`);
  }
  for (const h of g.hosts) lines.push(`  ${h.id} [label="${dotText(h.label)}"];`);
  for (const e of g.externals) lines.push(`  ${e.id} [label="${dotText(e.label)}", shape=ellipse];`);
  for (const f of g.flows) {
    const attrs = [`label="${dotText(f.label)}"`];
    if (anchor.has(f.to)) attrs.push(`lhead=${anchor.get(f.to)}`);
    if (anchor.has(f.from)) attrs.push(`ltail=${anchor.get(f.from)}`);
    if (f.admin) attrs.push('style=dashed');
    lines.push(`  ${f.from} -> ${f.to} [${attrs.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
