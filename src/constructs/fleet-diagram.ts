import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { AdminAccess } from './admin-access';
import { declarationsUnder } from './declarations';
import { HostGroup } from './host-group';
import { StatefulHost } from './stateful-host';
import { isTerraformToken } from '../core/values/peer';
import { onSynthesize } from '../synth/synth-session';


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
function graph(scope: IConstruct, options: FleetDiagramOptions): Graph {
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
      // only what compiles: a source without addresses opens nothing (and fails validation)
      if (rule.from.peer === undefined) continue;
      flows.push({ from: idOf(rule.from), to: idOf(target), label: rule.ports.join(', '), admin: false });
    }
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

/**
 * The fleet as a diagram: hosts (inside their first group), groups, outside peers, and
 * the flows the rulesets allow. Added to a stack, it writes `firewall/fleet.mmd`,
 * `firewall/fleet.dot` and, when Graphviz's `dot` is installed, `firewall/fleet.svg`
 * with the synthesized output.
 */
export class FleetDiagram extends Construct {
  /** The fleet below `scope` as a Mermaid flowchart. */
  public static mermaid(scope: IConstruct, options: FleetDiagramOptions = {}): string {
    const g = graph(scope, options);
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

  /** The fleet below `scope` as a Graphviz DOT digraph. */
  public static dot(scope: IConstruct, options: FleetDiagramOptions = {}): string {
    const g = graph(scope, options);
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

  public constructor(scope: Construct, id: string, private readonly options: FleetDiagramOptions = {}) {
    super(scope, id);
    onSynthesize(this, (_session, stackDir) => this.write(stackDir));
  }

  private write(stackDir: string): void {
    const stack = TerraformStack.of(this);
    const dir = path.join(stackDir, 'firewall');
    fs.mkdirSync(dir, { recursive: true });
    const dot = FleetDiagram.dot(stack, this.options);
    fs.writeFileSync(path.join(dir, 'fleet.mmd'), FleetDiagram.mermaid(stack, this.options));
    fs.writeFileSync(path.join(dir, 'fleet.dot'), dot);
    const svg = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
    if (svg.status === 0) fs.writeFileSync(path.join(dir, 'fleet.svg'), svg.stdout);
  }
}
