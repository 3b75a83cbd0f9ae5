/**
 * Published container ports (issue 18), tested by their effects on real traffic. No dockerd
 * runs here (no registry images are reachable), so the lab reproduces Docker's netfilter
 * setup (iptables backend, Docker 28+: moby daemon/libnetwork/drivers/bridge/internal/iptabler
 * and daemon/libnetwork/firewall_linux.go) in network namespaces: a "host" with a bridge
 * `docker0`, two "containers" behind it (one publishes 5432 and 80 as 8080, the other is a
 * second container on the same network), the DOCKER, DOCKER-USER, DOCKER-FORWARD, DOCKER-CT,
 * DOCKER-BRIDGE and DOCKER-ISOLATION-STAGE-1/2 chains, the FORWARD jumps, FORWARD policy DROP,
 * MASQUERADE and the DNAT in nat PREROUTING exactly as Docker makes them, and two clients
 * outside (an allowed peer and another address).
 *
 * The library's ruleset is the one the engine renders for a `StatefulHost` with published
 * Services next to an ordinary INPUT service, drop logging and outbound filtering, deployed
 * with assets/sfw-apply.sh (dash) on iptables-nft, iptables-legacy and nftables.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import { Backend, Peer, Port, StatefulHost } from '../../src';
import { Lab, netnsSupported, ProbeResult, RunResult, withLab } from '../support/netns';
import { makeScriptCtx, probePorts, runScript, ScriptCtx, scriptOk, startListener, Variant, VARIANTS } from '../support/script-lab';

const describeKernel = netnsSupported() ? describe : describe.skip;

const HOST_O = '10.75.1.1'; // as the other client sees the host
const HOST_A = '10.75.2.1'; // as the allowed client sees the host
const OTHER = '10.75.1.2';
const ALLOWED = '10.75.2.2';
const GW = '172.17.0.1';
const CTR = '172.17.0.2';
const CTR2 = '172.17.0.3';

/** Docker's iptables setup for one bridge network and one container publishing 5432:5432 and 8080:80. */
function dockerStart(ipt: string, opts: { userChainExists?: boolean } = {}): string {
  const f = (r: string) => `${ipt} ${r}`;
  const n = (r: string) => `${ipt} -t nat ${r}`;
  return [
    // setupIPChains (iptabler.go): the nat and filter chains, FORWARD policy DROP, the jumps
    n('-N DOCKER'),
    n('-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER'),
    n('-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER ! -d 127.0.0.0/8'),
    n('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE'),
    f('-P FORWARD DROP'),
    ...['DOCKER', 'DOCKER-BRIDGE', 'DOCKER-CT', 'DOCKER-FORWARD', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2'].map((c) => f(`-N ${c}`)),
    f('-I FORWARD -j DOCKER-FORWARD'),
    f('-A DOCKER-FORWARD -j DOCKER-CT'),
    f('-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1'),
    f('-A DOCKER-FORWARD -j DOCKER-BRIDGE'),
    // the bridge network (network.go)
    f('-A DOCKER ! -i docker0 -o docker0 -j DROP'),
    f('-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'),
    f('-A DOCKER-BRIDGE -o docker0 -j DOCKER'),
    f('-A DOCKER-FORWARD -i docker0 -j ACCEPT'),
    f('-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2'),
    f('-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP'),
    // the port mappings: DNAT in nat DOCKER, an ACCEPT per port inserted ahead of the DROP
    n(`-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination ${CTR}:5432`),
    n(`-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${CTR}:80`),
    f(`-I DOCKER -d ${CTR}/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 5432 -j ACCEPT`),
    f(`-I DOCKER -d ${CTR}/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT`),
    // setupUserChain (firewall_linux.go): create DOCKER-USER only when missing, never flush it;
    // EnsureJumpRule: delete the FORWARD jump if present, insert it at the top
    opts.userChainExists ? 'true' : `{ ${f('-n -L DOCKER-USER')} >/dev/null 2>&1 || ${f('-N DOCKER-USER')}; }`,
    `{ ! ${f('-C FORWARD -j DOCKER-USER')} 2>/dev/null || ${f('-D FORWARD -j DOCKER-USER')}; }`,
    f('-I FORWARD -j DOCKER-USER'),
  ].join(' && ');
}

/** A daemon restart as far as netfilter sees it: Docker's chains go (DOCKER-USER stays) and are set up again. */
function dockerRestart(ipt: string): string {
  const f = (r: string) => `${ipt} ${r}`;
  const n = (r: string) => `${ipt} -t nat ${r}`;
  return [
    f('-D FORWARD -j DOCKER-FORWARD'),
    ...['DOCKER', 'DOCKER-BRIDGE', 'DOCKER-CT', 'DOCKER-FORWARD', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2'].map((c) => f(`-F ${c}`)),
    ...['DOCKER', 'DOCKER-BRIDGE', 'DOCKER-CT', 'DOCKER-FORWARD', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2'].map((c) => f(`-X ${c}`)),
    n('-D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER'),
    n('-D OUTPUT -m addrtype --dst-type LOCAL -j DOCKER ! -d 127.0.0.0/8'),
    n('-D POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE'),
    n('-F DOCKER'),
    n('-X DOCKER'),
    dockerStart(ipt),
  ].join(' && ');
}

/** The library's host: SSH on INPUT, Postgres published to the allowed peer, 8080 published to anyone, logging, outbound filtering. */
function render(backend: Backend): Record<string, string> {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const host = new StatefulHost(stack, 'docker', {
    address: HOST_A,
    backend,
    deployment: { enabled: false },
    outboundFiltering: true,
    logDropped: {},
  });
  host.addService('Ssh', { ports: [Port.SSH], peers: [Peer.ipv4(ALLOWED)] });
  host.addService('Db', { ports: [Port.POSTGRES], peers: [Peer.ipv4(ALLOWED)], published: true });
  host.addService('Web', { ports: [Port.tcp(8080)], published: true });
  host.addOutbound('Api', { ports: [Port.tcp(7000)], peers: [Peer.ipv4(ALLOWED)] });
  return host.renderedFiles;
}


interface Hosts { host: string; ctr: string; ctr2: string; allowed: string; other: string }

async function setUp(lab: Lab, ipt: string, docker = true): Promise<Hosts> {
  const host = lab.addNamespace('host');
  const ctr = lab.addNamespace('ctr');
  const ctr2 = lab.addNamespace('ctr2');
  const allowed = lab.addNamespace('allowed');
  const other = lab.addNamespace('other');
  lab.connect({ ns: host, ifname: 'eth-o', addresses: [`${HOST_O}/24`] }, { ns: other, ifname: 'eth0', addresses: [`${OTHER}/24`] });
  lab.connect({ ns: host, ifname: 'eth-a', addresses: [`${HOST_A}/24`] }, { ns: allowed, ifname: 'eth0', addresses: [`${ALLOWED}/24`] });
  lab.sh(host, `ip link add docker0 type bridge && ip addr add ${GW}/16 dev docker0 && ip link set docker0 up && sysctl -qw net.ipv4.ip_forward=1`);
  for (const [ns, addr, veth] of [[ctr, CTR, 'veth1'], [ctr2, CTR2, 'veth2']] as const) {
    lab.connect({ ns: host, ifname: veth }, { ns, ifname: 'eth0', addresses: [`${addr}/16`] });
    lab.sh(host, `ip link set ${veth} master docker0`);
    lab.sh(ns, `ip route add default via ${GW}`);
  }
  for (const [ns, gw] of [[other, HOST_O], [allowed, HOST_A]] as const) lab.sh(ns, `ip route add 172.17.0.0/16 via ${gw}`);
  await startListener(lab, host, [22, 9999]);
  await startListener(lab, ctr, [5432, 80]);
  await startListener(lab, ctr2, [6000]);
  await startListener(lab, allowed, [7000]);
  if (docker) lab.sh(host, dockerStart(ipt));
  return { host, ctr, ctr2, allowed, other };
}

/** Everything the host's clients and containers reach, as one comparable record. */
function reach(lab: Lab, h: Hosts): Record<string, ProbeResult> {
  const out: Record<string, ProbeResult> = {};
  for (const [who, ns, addr] of [['allowed', h.allowed, HOST_A], ['other', h.other, HOST_O]] as const) {
    for (const [port, r] of Object.entries(probePorts(lab, ns, addr, [5432, 8080, 22, 9999]))) out[`${who}:${port}`] = r;
  }
  out['container->allowed:7000'] = probePorts(lab, h.ctr, ALLOWED, [7000])[7000];
  out['container->container:6000'] = probePorts(lab, h.ctr, CTR2, [6000])[6000];
  out['host->allowed:7000'] = probePorts(lab, h.host, ALLOWED, [7000])[7000];
  return out;
}

/** Docker's chains and rules (filter and nat), without counters and comments. */
function dockerState(lab: Lab, ns: string, ipt: string): string {
  return lab.exec(ns, [`${ipt}-save`]).split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n');
}

const BARE = {
  'allowed:5432': 'open',
  'allowed:8080': 'open',
  'allowed:22': 'open',
  'allowed:9999': 'open',
  'other:5432': 'open',
  'other:8080': 'open',
  'other:22': 'open',
  'other:9999': 'open',
  'container->allowed:7000': 'open',
  'container->container:6000': 'open',
  'host->allowed:7000': 'open',
};
/** With the library: Postgres only from the allowed peer, 8080 from anyone, SSH only from the allowed peer, the rest refused. */
const DEPLOYED = { ...BARE, 'other:5432': 'refused', 'other:22': 'refused', 'allowed:9999': 'refused', 'other:9999': 'refused' };

const BACKENDS: ReadonlyArray<{ name: string; variant: Variant; backend: Backend }> = [
  ...VARIANTS.map((variant) => ({ name: `iptables (${variant.name})`, variant, backend: Backend.IPTABLES })),
  // nftables: the library's own table; Docker's chains through iptables-nft, as on Debian
  { name: 'nftables', variant: VARIANTS[0], backend: Backend.NFTABLES },
];

describeKernel('Docker-published ports obey the declarations (network namespaces, Docker netfilter reproduction, real traffic)', () => {
  let ctx: ScriptCtx | undefined;
  afterEach(() => {
    if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
    ctx = undefined;
  });
  const sfw = (lab: Lab, ns: string, args: readonly string[]): RunResult => scriptOk(runScript(lab, ns, ctx!, args));
  const deploy = (lab: Lab, ns: string, backend: Backend) => {
    const r = sfw(lab, ns, ['apply', '--dir', ctx!.pending, '--backend', backend]);
    sfw(lab, ns, ['confirm']);
    return r;
  };
  const write = (files: Record<string, string>) => {
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(ctx!.pending, name), content);
  };

  describe.each(BACKENDS)('$name', ({ variant, backend }) => {
    const { ipt } = variant;

    test('allowed peers reach the published port, others are refused; Docker restart, redeploy and destroy', () => withLab(async (lab) => {
      ctx = makeScriptCtx('docker', { env: { SFW_IPTABLES: variant.ipt, SFW_IP6TABLES: variant.ip6t }, systemd: true });
      const h = await setUp(lab, ipt);
      expect(reach(lab, h)).toEqual(BARE); // Docker alone: the published ports are open to everyone
      const before = dockerState(lab, h.host, ipt);

      write(render(backend));
      deploy(lab, h.host, backend);
      expect(reach(lab, h)).toEqual(DEPLOYED);
      if (backend === Backend.IPTABLES) {
        // the library's chain is the first rule of DOCKER-USER; Docker's FORWARD jump is untouched
        expect(lab.exec(h.host, [`${ipt}`, '-S', 'DOCKER-USER'])).toBe('-N DOCKER-USER\n-A DOCKER-USER -j SFW-PUBLISHED\n');
        expect(lab.exec(h.host, [`${ipt}`, '-S', 'FORWARD'])).toBe('-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n');
        // the refusals came from the library's default action for published traffic, after its LOG rule
        const save = lab.exec(h.host, [`${ipt}-save`, '-c']);
        expect(Number(/^\[(\d+):\d+\] -A SFW-PUBLISHED .*-j LOG/m.exec(save)![1])).toBeGreaterThan(0);
        expect(Number(/^\[(\d+):\d+\] -A SFW-PUBLISHED -p tcp .*default action.*-j REJECT --reject-with tcp-reset/m.exec(save)![1])).toBeGreaterThan(0);
      } else {
        expect(lab.exec(h.host, ['nft', 'list', 'chain', 'inet', 'stateful_firewall', 'published'])).toMatch(/hook forward priority filter/);
        expect(dockerState(lab, h.host, ipt)).toBe(before); // nftables: Docker's iptables chains are not touched at all
      }

      // an established connection from the allowed peer survives; after a Docker restart the policy still holds
      lab.sh(h.host, dockerRestart(ipt));
      expect(reach(lab, h)).toEqual(DEPLOYED);
      if (backend === Backend.IPTABLES) expect(lab.exec(h.host, [`${ipt}`, '-S', 'DOCKER-USER'])).toBe('-N DOCKER-USER\n-A DOCKER-USER -j SFW-PUBLISHED\n');

      // a redeploy changes nothing; destroy leaves Docker's chains exactly as they were
      deploy(lab, h.host, backend);
      expect(reach(lab, h)).toEqual(DEPLOYED);
      expect(sfw(lab, h.host, ['destroy']).stdout).toContain('destroyed: no library objects remain');
      expect(dockerState(lab, h.host, ipt)).toBe(before);
      expect(reach(lab, h)).toEqual(BARE);
    }, backend));
  });

  describe.each(VARIANTS)('no Docker yet ($name)', (variant) => {
    test('apply creates DOCKER-USER and its FORWARD jump as Docker would; Docker adopts them and the policy holds', () => withLab(async (lab) => {
      ctx = makeScriptCtx('docker', { env: { SFW_IPTABLES: variant.ipt, SFW_IP6TABLES: variant.ip6t }, systemd: true });
      const { ipt } = variant;
      const h = await setUp(lab, ipt, false);
      write(render(Backend.IPTABLES));
      deploy(lab, h.host, Backend.IPTABLES);
      expect(lab.exec(h.host, [ipt, '-S', 'FORWARD'])).toBe('-P FORWARD ACCEPT\n-A FORWARD -j DOCKER-USER\n');
      expect(lab.exec(h.host, [ipt, '-S', 'DOCKER-USER'])).toBe('-N DOCKER-USER\n-A DOCKER-USER -j SFW-PUBLISHED\n');
      // Docker starts afterwards: it keeps the chain (and the library's jump in it) and moves its FORWARD jump to the top
      lab.sh(h.host, dockerStart(ipt, { userChainExists: true }));
      expect(lab.exec(h.host, [ipt, '-S', 'DOCKER-USER'])).toBe('-N DOCKER-USER\n-A DOCKER-USER -j SFW-PUBLISHED\n');
      expect(reach(lab, h)).toEqual(DEPLOYED);
      // destroy removes the library's jump and chain; the (now Docker's) DOCKER-USER stays
      sfw(lab, h.host, ['destroy']);
      expect(lab.exec(h.host, [ipt, '-S', 'DOCKER-USER'])).toBe('-N DOCKER-USER\n');
      expect(reach(lab, h)).toEqual(BARE);
    }, variant.name));
  });
});
