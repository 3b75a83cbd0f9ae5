import { Protocol } from '../protocol';

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
