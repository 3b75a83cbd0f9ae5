import { Port } from '../values/port';
import { Protocol } from '../values/protocol';

/**
 * A conntrack helper: a kernel module that reads a protocol's control connection and
 * expects the connections it announces, so they arrive as RELATED.
 */
export enum ConntrackHelper {
  /** FTP (`nf_conntrack_ftp`): active and passive data connections. */
  FTP = 'ftp',
  /** TFTP (`nf_conntrack_tftp`): the transfer's UDP flow. */
  TFTP = 'tftp',
}

/** The protocol each helper reads (nft's `ct helper` objects name it). */
export const HELPER_PROTOCOL: Record<ConntrackHelper, Protocol> = {
  [ConntrackHelper.FTP]: Protocol.TCP,
  [ConntrackHelper.TFTP]: Protocol.UDP,
};

/** The control port each helper's protocol is registered on (the kernel module's default). */
export const HELPER_PORT: Record<ConntrackHelper, number> = {
  [ConntrackHelper.FTP]: 21,
  [ConntrackHelper.TFTP]: 69,
};

/**
 * The ports of an opening the helper is attached to: only the helper's control port, not
 * the other ports of the declaration (an FTP service on 21 and 443 gets the helper on 21).
 * The standard port when the opening includes it (alone, even inside a range); otherwise
 * the opening's one single port of the helper's protocol (a server on another port, e.g.
 * FTP on 2121); none when that is ambiguous (see `helperPortsProblem`).
 */
export function helperPorts(helper: ConntrackHelper, ports: readonly Port[]): Port[] {
  const protocol = HELPER_PROTOCOL[helper];
  const standard = HELPER_PORT[helper];
  const ofProtocol = ports.filter((p) => p.protocol === protocol);
  if (ofProtocol.some((p) => p.fromPort! <= standard && standard <= p.toPort!)) {
    return [protocol === Protocol.TCP ? Port.tcp(standard) : Port.udp(standard)];
  }
  return ofProtocol.length === 1 && ofProtocol[0].fromPort === ofProtocol[0].toPort ? [...ofProtocol] : [];
}

/** Why the helper's control port cannot be told from the opening's ports, or undefined. */
export function helperPortsProblem(helper: ConntrackHelper, ports: readonly Port[]): string | undefined {
  const protocol = HELPER_PROTOCOL[helper];
  const standard = HELPER_PORT[helper];
  const ofProtocol = ports.filter((p) => p.protocol === protocol);
  if (ofProtocol.length === 0) {
    return `the ${helper} helper reads ${protocol}, but the service has no ${protocol} port: add e.g. Port.${protocol}(${standard})`;
  }
  if (helperPorts(helper, ports).length === 0) {
    return `the ${helper} helper is attached to the ${helper.toUpperCase()} control port only, and the service's ${protocol} ports (${ofProtocol.join(', ')}) do not say which it is: `
      + `include ${protocol}/${standard}, or declare the helper in a Service of its own with the one control port`;
  }
  return undefined;
}
