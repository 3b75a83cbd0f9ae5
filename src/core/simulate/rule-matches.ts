import { Direction } from './direction';
import { Packet } from './packet';
import { TcpFlag } from './tcp-flag';
import { AddressMatch, RuleMatch } from '../ir/rule-match';
import { RulesetModel } from '../ir/ruleset-model';
import { AddressRange, elementRange } from '../net/address-range';
import { parseIpv4, parseIpv6 } from '../net/ip';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

// Whether one rule's match accepts a packet, as the kernel decides it (the simulator's
// part that does not walk chains).

function parseElement(element: string): AddressRange {
  const range = elementRange(element);
  if (!range) throw new Error(`simulator: bad address element '${element}'`);
  return range;
}

/** A model's sets as the simulator looks them up: elements by set name. */
export function setElementsByName(model: RulesetModel): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const set of model.sets ?? []) out[set.name] = set.elements;
  return out;
}

function portIn(port: number, elements: readonly string[]): boolean {
  return elements.some((e) => {
    const dash = e.indexOf('-');
    const from = Number(dash >= 0 ? e.slice(0, dash) : e);
    const to = Number(dash >= 0 ? e.slice(dash + 1) : e);
    return from <= port && port <= to;
  });
}

function addressIn(address: string, family: IpFamily, match: AddressMatch, sets: Record<string, string[]>): boolean {
  const value = family === IpFamily.IPV4 ? parseIpv4(address) : parseIpv6(address);
  if (value === undefined) return false;
  const elements = match.set !== undefined ? sets[match.set] : match.elements;
  if (!elements) throw new Error(`simulator: unknown address set '${match.set}'`);
  return elements.some((e) => {
    const r = parseElement(e);
    return r.family === family && r.first <= value && value <= r.last;
  });
}

function protocolMatches(ruleProtocol: Protocol, packet: Packet): boolean {
  return ruleProtocol === packet.protocol;
}

/** Whether one rule's match accepts the packet. */
export function ruleMatches(match: RuleMatch, packet: Packet, sets: Record<string, string[]> = {}): boolean {
  if (match.family !== undefined && match.family !== packet.family) return false;
  if (match.inInterface !== undefined && match.inInterface !== packet.inInterface) return false;
  if (match.outInterface !== undefined && match.outInterface !== packet.outInterface) return false;
  if (match.protocol !== undefined && !protocolMatches(match.protocol, packet)) return false;
  if (match.states !== undefined && !match.states.includes(packet.state)) return false;
  if (match.tcpSynOnly) {
    const f = packet.tcpFlags;
    const synOnly = f.includes(TcpFlag.SYN) && !f.includes(TcpFlag.FIN) && !f.includes(TcpFlag.RST) && !f.includes(TcpFlag.ACK);
    if (packet.protocol !== Protocol.TCP || !synOnly) return false;
  }
  if (match.source !== undefined) {
    if (!addressIn(packet.source, packet.family, match.source, sets)) return false;
  }
  if (match.destination !== undefined) {
    if (packet.destination === undefined || !addressIn(packet.destination, packet.family, match.destination, sets)) return false;
  }
  // the simulator models the host's own traffic: every inbound packet is addressed to it
  if (match.destinationLocal && packet.direction !== Direction.INBOUND) return false;
  // a packet to a published port is the one DNATed kind the simulator models; its port is the original one
  if (match.destinationNat !== undefined && match.destinationNat !== (packet.direction === Direction.PUBLISHED)) return false;
  if (match.originalDestinationPorts !== undefined) {
    const port = packet.direction === Direction.PUBLISHED ? packet.destinationPort : undefined;
    if (port === undefined || !match.originalDestinationPorts.some((p) => p.from <= port && port <= p.to)) return false;
  }
  if (match.destinationPorts !== undefined) {
    const port = packet.destinationPort;
    if (port === undefined || !match.destinationPorts.some((p) => p.from <= port && port <= p.to)) return false;
  }
  if (match.destinationPortSet !== undefined) {
    const elements = sets[match.destinationPortSet];
    if (!elements) throw new Error(`simulator: unknown port set '${match.destinationPortSet}'`);
    const port = packet.destinationPort;
    if (port === undefined || !portIn(port, elements)) return false;
  }
  if (match.sourcePorts !== undefined) {
    const port = packet.sourcePort;
    if (port === undefined || !match.sourcePorts.some((p) => p.from <= port && port <= p.to)) return false;
  }
  if (match.sourcePortSet !== undefined) {
    const elements = sets[match.sourcePortSet];
    if (!elements) throw new Error(`simulator: unknown port set '${match.sourcePortSet}'`);
    const port = packet.sourcePort;
    if (port === undefined || !portIn(port, elements)) return false;
  }
  if (match.icmpTypes !== undefined && (packet.icmpType === undefined || !match.icmpTypes.includes(packet.icmpType))) return false;
  if (match.icmpCode !== undefined && packet.icmpCode !== match.icmpCode) return false;
  if (match.hopLimit !== undefined && packet.hopLimit !== match.hopLimit) return false;
  // the simulator has no clock: a rate limit holds unless the packet is marked as over it
  if (match.limit !== undefined && packet.overRateLimit) return false;
  if (match.sourceRateOver !== undefined && !packet.overRateLimit) return false;
  if (match.rateOver !== undefined && !packet.overRateLimit) return false;
  if (match.sourceConnectionsOver !== undefined && !packet.overConnectionLimit) return false;
  const under = match.limitsUnder;
  if (under && (((under.sourceRate || under.rate) && packet.overRateLimit) || (under.sourceConnections && packet.overConnectionLimit))) return false;
  return true;
}
