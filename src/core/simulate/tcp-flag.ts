/**
 * A TCP header flag.
 */
export enum TcpFlag {
  /** FIN: no more data from the sender. */
  FIN = 'FIN',
  /** SYN: synchronize sequence numbers (opens a connection). */
  SYN = 'SYN',
  /** RST: reset the connection. */
  RST = 'RST',
  /** PSH: push buffered data. */
  PSH = 'PSH',
  /** ACK: the acknowledgment field is significant. */
  ACK = 'ACK',
  /** URG: the urgent pointer is significant. */
  URG = 'URG',
}
