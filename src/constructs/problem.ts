/**
 * What a host's validation finds (internal: reported through `node.addValidation` for
 * errors and warning annotations for warnings, never part of the public API).
 */

/** The kinds of problem a host's validation reports; policy checks report under their id (`SFW1`, ...). */
export type ProblemCode =
  | 'duplicate-host-name'
  | 'address-conflict'
  | 'outbound-not-filtered'
  | 'denied-opening'
  | 'family-mismatch'
  | 'icmp-family'
  | 'repeated-opening'
  | 'too-many-connections'
  | 'empty-connection-source'
  | 'backend-unsupported'
  | `policy-check:${string}`;

/** One problem: where it is reported (a construct path), its kind, its text and whether it fails the synth. */
export interface Problem {
  /** The construct the problem is reported on (cdktf prints `[path] message`). */
  readonly path: string;
  readonly code: ProblemCode;
  /** The message, as the user reads it. */
  readonly message: string;
  readonly level: 'error' | 'warning';
}
