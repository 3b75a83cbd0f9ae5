// The package's public API, in the user's vocabulary: constructs and their props, the values
// they take (Port, Peer, limits, helpers...), policy checks, deployment options, and the
// compiled ruleset with its simulator and explain. Everything here is stable (jsii-diff
// against api/baseline guards it: `npx projen api-compat`).
// The core's public vocabulary, named one by one (a file's helpers such as checkRateLimit,
// HELPER_PORT or ruleMatches stay internal; src/core/index.ts is the internal barrel the
// tests and benchmarks use, not the package's API).
export { IpFamily } from './core/values/family';
export { Protocol } from './core/values/protocol';
export { Port } from './core/values/port';
export { type IPeer, Peer } from './core/values/peer';
export { ConnectionState } from './core/ir/connection-state';
export { Verdict } from './core/ir/verdict';
export { type RateLimit, RateUnit } from './core/ir/rate-limit';
export { type ConnectionLimits, OverLimitAction } from './core/ir/connection-limits';
export { ConntrackHelper } from './core/ir/conntrack-helper';
export { RejectWith } from './core/ir/reject-with';
export { Backend } from './core/backends/backend';
export { DefaultAction } from './core/policy/default-action';
export { type Allowance, type Denial, type DropLogging, type HostPolicy, type OutboundPolicy } from './core/policy/host-policy';
export { CompiledRuleset } from './core/compiled-ruleset';
export { ConntrackSizing } from './core/policy/conntrack-sizing';
export { TcpFlag } from './core/simulate/tcp-flag';
export { Direction } from './core/simulate/direction';
export { type IcmpPacketProps, Packet, type PacketBaseProps, type TcpPacketProps, type UdpPacketProps } from './core/simulate/packet';
export { type SimulationResult, Simulator } from './core/simulate/simulator';
export { Explain, type ExplainOptions, type ExplainRow } from './core/explain/explain';
export * from './constructs/service';
export * from './constructs/admin-access';
export * from './constructs/deny';
export * from './constructs/outbound-access';
export * from './constructs/stateful-host';
export * from './constructs/stateful-host-props';
export * from './constructs/conntrack-options';
export * from './constructs/connections';
export * from './constructs/host-group';
export * from './constructs/fleet-baseline';
export * from './constructs/fleet-diagram';
export * from './deploy/ssh-connection';
export * from './deploy/deployment-options';
export { HostDeployment, type HostDeploymentProps, type IDeployableHost } from './deploy/host-deployment';
export { type UserDataOptions } from './constructs/first-boot';
export { UserDataFormat } from './deploy/first-boot-script';
export * from './checks/check-level';
export * from './checks/host-facts';
export * from './checks/policy-checks';
export { AdminPortOpenToWorld } from './checks/rules/admin-port-open-to-world';
export { SensitivePortOpenToAny } from './checks/rules/sensitive-port-open-to-any';
export { PublishedDatabasePortOpenToAny } from './checks/rules/published-database-port-open-to-any';
export { Ipv6WiderThanIpv4 } from './checks/rules/ipv6-wider-than-ipv4';
export { NoAdminAccess } from './checks/rules/no-admin-access';
export { RedundantDeclaration } from './checks/rules/redundant-declaration';
export { HostKeyNotPinned } from './checks/rules/host-key-not-pinned';

// The ruleset model (rules, chains, sets, verdict maps): experimental, may change in any
// release. See src/core/model/README.md.
export * as model from './core/model';
