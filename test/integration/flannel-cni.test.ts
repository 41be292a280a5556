// nkd's flannel CNI plugin (scripts/images/flannel-cni), the binary the air-gap flannel-cni-plugin image
// carries: run as a container runtime runs it, against a lease file written as flanneld writes it, with
// Debian's real `bridge` and `host-local` plugins as its delegates. The "host" and the "pod" are two
// network namespaces of the test's own, so the bridge, the veth and the routes never touch this machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal } from '../helpers/real.js';

const REPO = join(import.meta.dirname, '..', '..');
const DEBIAN_CNI = '/usr/lib/cni';
const GO = ['/usr/local/go/bin/go', 'go'].find((g) => spawnSync(g, ['version']).status === 0);

const requirement = {
  missing: () =>
    process.getuid?.() !== 0
      ? 'needs root (network namespaces)'
      : GO === undefined
        ? 'the Go toolchain is missing'
        : !existsSync(join(DEBIAN_CNI, 'bridge')) || !existsSync(join(DEBIAN_CNI, 'host-local'))
          ? `no bridge/host-local plugins in ${DEBIAN_CNI} (apt-get install containernetworking-plugins)`
          : undefined,
};

interface CniRun {
  status: number | null;
  stdout: string;
  json: Record<string, unknown>;
}

describeReal('flannel CNI plugin: delegation to the real bridge and host-local plugins', requirement, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'nkd-flannel-cni-'));
  const hostNs = `nkd-fcni-host-${process.pid}`;
  const podNs = `nkd-fcni-pod-${process.pid}`;
  const binDir = join(scratch, 'bin');
  const subnetFile = join(scratch, 'subnet.env');
  const dataDir = join(scratch, 'flannel');
  const ipamDir = join(scratch, 'ipam');
  const netConf = (version = '0.4.0', extra: Record<string, unknown> = {}) => ({
    cniVersion: version,
    name: 'cbr0',
    type: 'flannel',
    subnetFile,
    dataDir,
    // What nkd's manifest passes, plus host-local's data directory under the test's own.
    delegate: { hairpinMode: true, isDefaultGateway: true, ipam: { dataDir: ipamDir } },
    ...extra,
  });

  /** One plugin call, inside the "host" namespace, as the runtime makes it. */
  const cni = (command: string, conf: unknown, containerId = 'pod-1'): CniRun => {
    const r = spawnSync('ip', ['netns', 'exec', hostNs, join(binDir, 'flannel')], {
      input: JSON.stringify(conf),
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: command,
        CNI_CONTAINERID: containerId,
        CNI_NETNS: `/var/run/netns/${podNs}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: `${binDir}:${DEBIAN_CNI}`,
      },
    });
    return {
      status: r.status,
      stdout: r.stdout,
      json: r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {},
    };
  };
  const inNs = (ns: string, ...args: string[]) =>
    execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });

  beforeAll(() => {
    execFileSync(GO!, ['build', '-trimpath', '-o', join(binDir, 'flannel'), '.'], {
      cwd: join(REPO, 'scripts', 'images', 'flannel-cni'),
      env: { ...process.env, CGO_ENABLED: '0' },
    });
    for (const ns of [hostNs, podNs]) {
      execFileSync('ip', ['netns', 'add', ns]);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // As flanneld writes it: the node's lease names its gateway address, not the network address.
    writeFileSync(
      subnetFile,
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n',
    );
  }, 300_000);

  afterAll(() => {
    for (const ns of [hostNs, podNs]) spawnSync('ip', ['netns', 'delete', ns]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('answers VERSION with the spec versions it passes through', () => {
    const r = cni('VERSION', {});
    expect(r.status).toBe(0);
    expect(r.json.supportedVersions).toEqual(expect.arrayContaining(['0.3.1', '0.4.0', '1.0.0']));
  });

  let added: CniRun;
  it('ADD: the pod gets an address of the lease, the overlay MTU and routes through the bridge', () => {
    added = cni('ADD', netConf());
    expect(added.status, added.stdout).toBe(0);
    const ips = added.json.ips as { address: string; gateway: string }[];
    expect(ips).toHaveLength(1);
    expect(ips[0]!.address).toMatch(/^10\.244\.7\.(\d+)\/24$/);
    expect(ips[0]!.gateway).toBe('10.244.7.1');
    const address = ips[0]!.address.split('/')[0]!;

    expect(inNs(podNs, 'ip', '-o', '-4', 'addr', 'show', 'eth0')).toContain(` ${address}/24 `);
    expect(inNs(podNs, 'ip', '-o', 'link', 'show', 'eth0')).toMatch(/ mtu 1400 /);
    const routes = inNs(podNs, 'ip', '-4', 'route');
    expect(routes).toMatch(/^default via 10\.244\.7\.1 dev eth0/m);
    expect(routes).toMatch(/^10\.244\.0\.0\/16 via 10\.244\.7\.1 dev eth0/m);
    // The bridge on the "host" holds the lease's gateway address (isGateway).
    expect(inNs(hostNs, 'ip', '-o', '-4', 'addr', 'show', 'cni0')).toContain(' 10.244.7.1/24 ');
  });

  it('ADD kept the delegate configuration it built from the lease', () => {
    const kept = JSON.parse(readFileSync(join(dataDir, 'pod-1'), 'utf8')) as Record<string, unknown>;
    expect(kept).toEqual({
      type: 'bridge',
      name: 'cbr0',
      cniVersion: '0.4.0',
      hairpinMode: true,
      isDefaultGateway: true,
      // flanneld masquerades (FLANNEL_IPMASQ=true): the bridge must not.
      ipMasq: false,
      isGateway: true,
      mtu: 1400,
      ipam: {
        type: 'host-local',
        dataDir: ipamDir,
        ranges: [[{ subnet: '10.244.7.0/24', gateway: '10.244.7.1' }]],
        routes: [{ dst: '10.244.0.0/16', gw: '10.244.7.1' }],
      },
    });
  });

  it('CHECK: the delegate finds the pod as ADD left it', () => {
    const r = cni('CHECK', { ...netConf(), prevResult: added.json });
    expect(r.status, r.stdout).toBe(0);
  });

  it('DEL: the veth is gone, the address is free again, and the kept configuration too; DEL repeats', () => {
    const address = (added.json.ips as { address: string }[])[0]!.address.split('/')[0]!;
    expect(existsSync(join(ipamDir, 'cbr0', address))).toBe(true);
    const r = cni('DEL', { ...netConf(), prevResult: added.json });
    expect(r.status, r.stdout).toBe(0);
    expect(spawnSync('ip', ['-n', podNs, 'link', 'show', 'eth0']).status).not.toBe(0);
    expect(existsSync(join(ipamDir, 'cbr0', address))).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]);
    const again = cni('DEL', netConf());
    expect(again.status).toBe(0);
    expect(again.stdout).toBe('');
  });

  it('without a lease, ADD fails with a CNI error naming the file, and keeps nothing', () => {
    const r = cni('ADD', netConf('0.3.1', { subnetFile: join(scratch, 'missing.env') }), 'pod-2');
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ cniVersion: '0.3.1', code: 5 });
    expect(r.json.msg).toContain('missing.env');
    expect(existsSync(join(dataDir, 'pod-2'))).toBe(false);
  });

  it('passes the delegate’s own error through, code and all', () => {
    const r = cni('ADD', netConf('0.3.1', { delegate: { type: 'no-such-plugin' } }), 'pod-3');
    expect(r.status).toBe(1);
    expect(r.json.msg).toMatch(/no-such-plugin/);
    const bad = cni(
      'ADD',
      { ...netConf('0.3.1'), delegate: { ipam: { type: 'host-local', dataDir: 7 } } },
      'pod-4',
    );
    expect(bad.status).not.toBe(0);
    expect(typeof bad.json.msg).toBe('string');
    cni('DEL', netConf('0.3.1'), 'pod-4');
  });
});
