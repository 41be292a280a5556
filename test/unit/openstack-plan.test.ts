// The OpenStack platform as the planner, the diff and validation see it: addresses Neutron keeps, the
// load balancer's address, platform settings in the plan, node sizes, and the judgement of an existing
// network from Neutron's answers (recorded shapes of getSubnet/getPort/getRouter).
import { describe, expect, it } from 'vitest';
import { judgeExistingNetwork, type ExistingNetworkAnswers } from '../../providers/openstack/preflight.js';
import { parseClusterConfig } from '../../src/config/load.js';
import { diffPlans, formatDiff } from '../../src/plan/diff.js';
import { planCluster } from '../../src/plan/plan.js';
import { configYaml, validConfig } from '../helpers/configs.js';

const openstack = (extra: Record<string, unknown> = {}) => ({
  openstack: {
    image: 'nestos',
    flavor: { controlPlane: 'm1.large', workers: 'm1.medium' },
    network: { cidr: '10.20.0.0/24' },
    externalNetwork: 'public',
    apiAllowedCIDRs: ['203.0.113.0/24'],
    ignitionService: { advertise: '203.0.113.10:22623' },
    ...extra,
  },
});
const plan = (extra: Record<string, unknown> = {}, o: Record<string, unknown> = {}) =>
  planCluster(validConfig({ platform: openstack(extra), ...o }));
const problems = (extra: Record<string, unknown>, o: Record<string, unknown> = {}) => {
  const parsed = parseClusterConfig(configYaml({ platform: openstack(extra), ...o }), 'c.yaml');
  return {
    errors: parsed.errors.map((e) => `${e.path}: ${e.message}`),
    warnings: parsed.warnings.map((e) => `${e.path}: ${e.message}`),
  };
};

describe('OpenStack node addresses and the API endpoint in the plan', () => {
  it('plans every node below the allocation pool and the endpoint at the load balancer address, in the SANs', () => {
    const p = plan();
    expect(p.nodes.map((n) => n.address)).toEqual([
      '10.20.0.2',
      '10.20.0.3',
      '10.20.0.4',
      '10.20.0.5',
      '10.20.0.6',
    ]);
    expect(p.kubernetes.controlPlaneEndpoint).toEqual({ host: '10.20.0.127', port: 6443 });
    expect(p.kubernetes.apiServerCertSANs).toContain('10.20.0.127');
  });

  it('never gives a node the load balancer address or a pool address, even when many nodes fill the range', () => {
    const p = plan({ network: { cidr: '10.20.0.0/26' } }, { workers: { count: 26 } });
    const last = p.nodes.map((n) => Number(n.address.split('.')[3]));
    expect(Math.max(...last)).toBe(30); // .31 is the load balancer, .32-.62 the pool
    const { errors } = problems({ network: { cidr: '10.20.0.0/26' } }, { workers: { count: 27 } });
    expect(errors).toEqual([
      expect.stringMatching(
        /network\.cidr: has no free address left for demo-worker-27: .* outside the reserved ranges/,
      ),
    ]);
  });

  it('refuses a node address fixed inside the allocation pool, naming the key', () => {
    const { errors } = problems({}, { workers: { count: 2, hosts: [{ ip: '10.20.0.200' }] } });
    expect(errors).toEqual([
      expect.stringMatching(
        /^spec\.workers\.hosts\[0\]\.ip: 10\.20\.0\.200 cannot be a node address: it is in Neutron's allocation pool 10\.20\.0\.128-10\.20\.0\.254/,
      ),
    ]);
  });

  it('without a load balancer, keeps the first control plane as endpoint and warns about the single point of failure', () => {
    const p = plan({ apiEndpoint: { type: 'first-control-plane' } });
    expect(p.kubernetes.controlPlaneEndpoint).toEqual({ host: '10.20.0.2', port: 6443 });
    const { warnings } = problems({ apiEndpoint: { type: 'first-control-plane' } });
    expect(warnings.join('\n')).toMatch(/single point of failure/);
    expect(problems({}).warnings.join('\n')).not.toMatch(/single point of failure/);
  });

  it('rejects pool and API addresses that cannot work', () => {
    expect(
      problems({
        network: { cidr: '10.20.0.0/24', allocationPool: { start: '10.30.0.10', end: '10.30.0.20' } },
      }).errors,
    ).toEqual([
      expect.stringMatching(
        /^spec\.platform\.openstack\.network\.allocationPool: .* is not inside network\.cidr/,
      ),
    ]);
    expect(problems({ apiEndpoint: { address: '10.20.0.130' } }).errors).toEqual([
      expect.stringMatching(
        /^spec\.platform\.openstack\.apiEndpoint\.address: .* inside Neutron's allocation pool/,
      ),
    ]);
    expect(
      problems({ network: { cidr: '10.20.0.0/24', name: 'shared', dnsNameservers: ['192.0.2.53'] } }).errors,
    ).toEqual([
      expect.stringMatching(
        /^spec\.platform\.openstack\.network\.dnsNameservers: only applies to a network nkd creates/,
      ),
    ]);
  });
});

describe('OpenStack API sources', () => {
  it('warns that an empty apiAllowedCIDRs leaves the API unreachable from this machine', () => {
    expect(problems({ apiAllowedCIDRs: [] }).warnings).toEqual([
      expect.stringMatching(/^spec\.platform\.openstack\.apiAllowedCIDRs: is empty: .*this machine included/),
    ]);
    expect(problems({ apiAllowedCIDRs: [], floatingIPs: 'none' }).warnings).toEqual([]);
  });
});

describe('OpenStack node sizes', () => {
  it('refuses cpus, memoryMiB and diskGiB written in the config, each naming what sizes nodes instead', () => {
    const { errors, warnings } = problems(
      {},
      { controlPlane: { count: 3, memoryMiB: 8192 }, workers: { count: 2, cpus: 8, diskGiB: 80 } },
    );
    expect(errors).toEqual([
      'spec.controlPlane.memoryMiB: is not used on openstack: the flavor sizes the nodes (spec.platform.openstack.flavor); remove it',
      'spec.workers.cpus: is not used on openstack: the flavor sizes the nodes (spec.platform.openstack.flavor); remove it',
      "spec.workers.diskGiB: is not used on openstack: the flavor's disk sizes the root disk, or spec.platform.openstack.rootVolume.sizeGiB; remove it",
    ]);
    expect(warnings).toEqual([]);
  });

  it('refuses a size written with its default value too (it still means nothing here)', () => {
    expect(problems({}, { workers: { count: 2, cpus: 4 } }).errors).toEqual([
      expect.stringMatching(/^spec\.workers\.cpus: is not used on openstack: /),
    ]);
  });

  it('says nothing when no size is written', () => {
    expect(problems({})).toEqual({ errors: [], warnings: [] });
  });

  it('still accepts sizes on libvirt, which uses them', () => {
    const parsed = parseClusterConfig(configYaml({ workers: { count: 2, cpus: 8, diskGiB: 80 } }), 'c.yaml');
    expect(parsed.errors).toEqual([]);
  });

  it('does not report a deployed plan with other sizes (an older nkd, or a removed size) as a resize', () => {
    const after = plan();
    const before = {
      ...after,
      nodes: after.nodes.map((n) => ({ ...n, cpus: 8, memoryMiB: 16384, diskGiB: 100 })),
    };
    const diff = diffPlans(before, after);
    expect(diff.resize).toEqual([]);
    expect(diff.forbidden).toEqual([]);
    expect(diff.unchanged).toBe(true);
    // The same plans on a platform that uses sizes: a resize, and a shrinking disk is refused.
    const { nodeSizing: _platformSized, ...sizedByConfig } = after.platform;
    const configDiff = diffPlans(
      { ...before, platform: sizedByConfig },
      { ...after, platform: sizedByConfig },
    );
    expect(configDiff.resize.length).toBe(after.nodes.length);
  });
});

describe('OpenStack platform edits in the diff', () => {
  it.each([
    ['availabilityZone', { availabilityZone: 'az2' }, 'spec.platform.openstack.availabilityZone'],
    [
      'network.name',
      { network: { cidr: '10.20.0.0/24', name: 'other' } },
      'spec.platform.openstack.network.name',
    ],
    ['rootVolume', { rootVolume: { sizeGiB: 80 } }, 'spec.platform.openstack.rootVolume'],
    ['region', { region: 'RegionTwo' }, 'spec.platform.openstack.region'],
    [
      'server group policy',
      { serverGroups: { controlPlane: 'soft-anti-affinity' } },
      'spec.platform.openstack.serverGroups',
    ],
  ])('refuses a %s edit, which would break up half-way', (_what, edit, path) => {
    const diff = diffPlans(plan(), plan(edit));
    expect(diff.forbidden.map((f) => f.path)).toEqual([path]);
  });

  it('reports a flavor edit as applying to new nodes only, never as a resize of every node at once', () => {
    const diff = diffPlans(plan(), plan({ flavor: { controlPlane: 'm1.xlarge', workers: 'm1.medium' } }));
    expect(diff.forbidden).toEqual([]);
    expect(diff.unchanged).toBe(false);
    expect(formatDiff(diff, 'demo').join('\n')).toMatch(
      /spec\.platform\.openstack\.flavor m1\.large\/m1\.medium → m1\.xlarge\/m1\.medium: .*nodes created from now on get the new flavor/,
    );
  });

  it('accepts a plan recorded before platform settings existed', () => {
    const old = plan();
    delete (old.platform as { settings?: unknown }).settings;
    expect(diffPlans(old, plan({ availabilityZone: 'az2' })).forbidden).toEqual([]);
  });
});

describe('judging an existing network from Neutron answers', () => {
  const answers = (o: Partial<ExistingNetworkAnswers> = {}): ExistingNetworkAnswers => ({
    networkName: 'shared',
    subnet: {
      id: 's',
      cidr: '10.20.0.0/24',
      gatewayIp: '10.20.0.1',
      enableDhcp: true,
      allocationPools: [{ start: '10.20.0.2', end: '10.20.0.254' }],
    },
    ports: [],
    route: { routerId: 'r', externalNetworkId: 'ext' },
    externalNetworkId: 'ext',
    ...o,
  });
  const expectation = {
    gateway: '10.20.0.1',
    clusterTag: 'nkd-cluster=demo',
    planned: [{ address: '10.20.0.2', owner: 'node demo-cp-1', portName: 'demo-port-demo-cp-1' }],
  };

  it('warns when a planned address is in the pool Neutron allocates from (the default pool of a subnet)', () => {
    const j = judgeExistingNetwork(answers(), expectation);
    expect(j.refusals).toEqual([]);
    expect(j.warnings).toEqual([
      expect.stringMatching(/10\.20\.0\.2 \(node demo-cp-1\) is inside an allocation pool/),
    ]);
  });

  it("refuses DHCP off, and another project's port on a planned address; accepts nkd's own port", () => {
    const foreign = { id: 'x', name: 'vm', allTags: [], fixedIp: '10.20.0.2', deviceOwner: 'compute:nova' };
    const ours = {
      id: 'y',
      name: 'demo-port-demo-cp-1',
      allTags: ['nkd-cluster=demo'],
      fixedIp: '10.20.0.2',
    };
    const j = judgeExistingNetwork(
      answers({ subnet: { ...answers().subnet, enableDhcp: false }, ports: [foreign] }),
      expectation,
    );
    expect(j.refusals).toEqual([
      expect.stringMatching(/DHCP disabled/),
      expect.stringMatching(/already held by compute:nova port vm/),
    ]);
    expect(judgeExistingNetwork(answers({ ports: [ours] }), expectation).refusals).toEqual([]);
  });

  it('only warns when no router interface is visible (a router of another project may route it)', () => {
    const j = judgeExistingNetwork(answers({ route: undefined }), expectation);
    expect(j.refusals).toEqual([]);
    expect(j.warnings.join('\n')).toMatch(/no router interface at .* is visible to this project/);
  });

  it('refuses a subnet without a gateway', () => {
    const j = judgeExistingNetwork(answers({ subnet: { ...answers().subnet, gatewayIp: '' } }), expectation);
    expect(j.refusals).toEqual([expect.stringMatching(/has no gateway/)]);
  });
});

describe('OpenStack ignitionDelivery', () => {
  const noService = { ignitionService: undefined };
  it('with swift, needs no Ignition service address, and warns that one set is not used', () => {
    expect(problems({ ...noService, ignitionDelivery: 'swift' })).toEqual({ errors: [], warnings: [] });
    expect(problems({ ignitionDelivery: 'swift' }).warnings).toEqual([
      'spec.platform.openstack.ignitionService: is not used with ignitionDelivery: swift (nodes fetch their configs from Swift); remove it',
    ]);
  });

  it('with callback (the default), still warns that the advertise address is missing', () => {
    expect(problems(noService).warnings).toEqual([
      expect.stringMatching(/^spec\.platform\.openstack\.ignitionService\.advertise: is not set/),
    ]);
  });

  it('bounds the TempURL lifetime', () => {
    expect(problems({ ignitionDelivery: 'swift', swiftTempURLMinutes: 5 }).errors).toEqual([
      'spec.platform.openstack.swiftTempURLMinutes: must be 10 or more',
    ]);
    expect(problems({ ignitionDelivery: 'swift', swiftTempURLMinutes: 2000 }).errors).toEqual([
      'spec.platform.openstack.swiftTempURLMinutes: must be 1440 (a day) or less',
    ]);
  });
});
