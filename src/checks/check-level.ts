/**
 * How a policy check reports what it finds.
 */
export enum CheckLevel {
  /** Not reported. */
  OFF = 'off',
  /** A warning annotation; synth goes on. */
  WARNING = 'warning',
  /** A synth error. */
  ERROR = 'error',
}
