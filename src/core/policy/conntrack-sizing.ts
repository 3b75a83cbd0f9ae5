/**
 * Bytes one conntrack entry takes: the `nf_conntrack` slab object (256 bytes on Linux
 * 6.x, x86_64, read from /proc/slabinfo) plus the extensions most entries carry
 * (accounting, timestamps, helper, labels: about 64 bytes).
 */
export const CONNTRACK_ENTRY_BYTES = 320;

/** Bytes one hash bucket takes (one pointer). */
export const CONNTRACK_BUCKET_BYTES = 8;

/**
 * The kernel sizes the hash table in whole pages of buckets (4096 / 8 = 512), so a
 * size that is a multiple of 512 reads back exactly.
 */
export const CONNTRACK_BUCKET_GRANULE = 512;

/**
 * Connections stay in the table after they close (TIME_WAIT: 2 minutes), and a burst must
 * not fill it: the table holds this many times the expected connections.
 */
export const CONNTRACK_HEADROOM = 2;

/** The most connections a sizing is made for. */
export const MAX_EXPECTED_CONNECTIONS = 100_000_000;

/** What is wrong with a declared number of expected connections (`what` names it), or `undefined`. */
export function expectedConnectionsProblem(n: number, what: string): string | undefined {
  if (Number.isInteger(n) && n >= 0 && n <= MAX_EXPECTED_CONNECTIONS) return undefined;
  return `${what} ${n} is not usable: use a whole number of connections from 0 to ${MAX_EXPECTED_CONNECTIONS}`;
}

/**
 * How big a host's conntrack table must be for the connections it is expected to track,
 * and what that costs in kernel memory.
 *
 * Every tracked connection takes an entry; when the table is full the kernel drops new
 * connections ("nf_conntrack: table full, dropping packet"). The sizing holds twice the
 * expected connections (closed connections linger in TIME_WAIT), rounded up to whole
 * pages of hash buckets, with one bucket per entry (the kernel's own default ratio).
 *
 * @example
 * const sizing = ConntrackSizing.forConnections(100_000);
 * sizing.maxEntries;   // 200192
 * sizing.memoryBytes;  // 65662976 (about 62.6 MiB)
 */
export class ConntrackSizing {
  /** The sizing for this many connections tracked at once. */
  public static forConnections(expectedConnections: number): ConntrackSizing {
    if (!Number.isInteger(expectedConnections) || expectedConnections < 1 || expectedConnections > MAX_EXPECTED_CONNECTIONS) {
      throw new Error(`expected connections ${expectedConnections} is not usable: use a whole number from 1 to ${MAX_EXPECTED_CONNECTIONS}`);
    }
    return new ConntrackSizing(expectedConnections);
  }

  /** The connections expected to be tracked at once. */
  public readonly expectedConnections: number;
  /** `nf_conntrack_max`: the most entries the table may hold. */
  public readonly maxEntries: number;
  /** The hash table's buckets (`/sys/module/nf_conntrack/parameters/hashsize`). */
  public readonly hashBuckets: number;
  /** Kernel memory the full table takes: entries and buckets. */
  public readonly memoryBytes: number;

  private constructor(expected: number) {
    this.expectedConnections = expected;
    const wanted = expected * CONNTRACK_HEADROOM;
    this.maxEntries = Math.ceil(wanted / CONNTRACK_BUCKET_GRANULE) * CONNTRACK_BUCKET_GRANULE;
    this.hashBuckets = this.maxEntries;
    this.memoryBytes = this.maxEntries * CONNTRACK_ENTRY_BYTES + this.hashBuckets * CONNTRACK_BUCKET_BYTES;
  }

  /** One line for reports, e.g. `100000 expected connections: nf_conntrack_max 200192, 200192 hash buckets, about 62.6 MiB`. */
  public describe(): string {
    const mib = (this.memoryBytes / 1024 / 1024).toFixed(1);
    return `${this.expectedConnections} expected connections: nf_conntrack_max ${this.maxEntries}, ${this.hashBuckets} hash buckets, about ${mib} MiB of kernel memory`;
  }
}
