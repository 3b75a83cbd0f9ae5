/**
 * How deployment reaches a host over SSH (Terraform's `connection` block).
 */
export interface SshConnectionOptions {
  /**
   * The user to log in as; it must be root or have password-less sudo.
   *
   * @default 'root'
   */
  readonly user?: string;

  /**
   * The private key, as text (e.g. `Fn.file('~/.ssh/id_ed25519')`). Terraform only lets
   * destroy-time provisioners use literal values and functions, not variables.
   *
   * @default - the SSH agent is used
   */
  readonly privateKey?: string;

  /**
   * The host's public key (e.g. `ssh-ed25519 AAAA...`, from `ssh-keyscan` verified out of
   * band, or a `tls_private_key`'s `public_key_openssh`); when set, the connection fails
   * unless the host presents it.
   *
   * @default - host key not checked (Terraform's default): policy check SFW6 warns
   */
  readonly hostKey?: string;

  /**
   * The SSH port.
   *
   * @default 22
   */
  readonly port?: number;

  /**
   * How long Terraform keeps trying to connect (Terraform duration, e.g. '2m').
   *
   * @default '2m'
   */
  readonly timeout?: string;

  /**
   * A bastion (jump) host to connect through.
   *
   * @default - direct connection
   */
  readonly bastionHost?: string;

  /**
   * The user on the bastion host.
   *
   * @default - the same user
   */
  readonly bastionUser?: string;

  /**
   * The private key for the bastion host.
   *
   * @default - the same key (or agent)
   */
  readonly bastionPrivateKey?: string;

  /**
   * The bastion host's public key; when set, the connection fails unless the bastion
   * presents it.
   *
   * @default - not checked: policy check SFW6 warns when `bastionHost` is set
   */
  readonly bastionHostKey?: string;

  /**
   * The bastion's SSH port.
   *
   * @default 22
   */
  readonly bastionPort?: number;
}
