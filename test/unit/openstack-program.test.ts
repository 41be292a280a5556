// The OpenStack program under Pulumi mocks: no cloud and no Pulumi engine. Every run records what the
// program registered — type, name and inputs from the mocks' newResource, and the resource options
// (protect, ignoreChanges, dependencies) from the RegisterResourceRequest the SDK sends to the monitor,
// which is exactly what the engine would receive.
import { createHmac } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import type { OpenStackConfig } from '../../providers/openstack/config.js';
import { securityRules } from '../../providers/openstack/security.js';
import type { NodeBootData, ProgramInput } from '../../providers/types.js';
import { planCluster } from '../../src/plan/plan.js';
import { serializeIgnition } from '../../src/render/ignition.js';
import { NOVA_USER_DATA_LIMIT, pointerConfig, sha512Hex, userDataSize } from '../../src/render/pointer.js';
import { validConfig } from '../helpers/configs.js';

const T = {
  provider: 'pulumi:providers:openstack',
  network: 'openstack:networking/network:Network',
  subnet: 'openstack:networking/subnet:Subnet',
  router: 'openstack:networking/router:Router',
  routerInterface: 'openstack:networking/routerInterface:RouterInterface',
  secGroup: 'openstack:networking/secGroup:SecGroup',
  rule: 'openstack:networking/secGroupRule:SecGroupRule',
  serverGroup: 'openstack:compute/serverGroup:ServerGroup',
  port: 'openstack:networking/port:Port',
  instance: 'openstack:compute/instance:Instance',
  fip: 'openstack:networking/floatingIp:FloatingIp',
  fipAssociate: 'openstack:networking/floatingIpAssociate:FloatingIpAssociate',
  lb: 'openstack:loadbalancer/loadBalancer:LoadBalancer',
  listener: 'openstack:loadbalancer/listener:Listener',
  pool: 'openstack:loadbalancer/pool:Pool',
  monitor: 'openstack:loadbalancer/monitor:Monitor',
  members: 'openstack:loadbalancer/members:Members',
  getNetwork: 'openstack:networking/getNetwork:getNetwork',
  getSubnet: 'openstack:networking/getSubnet:getSubnet',
  getPortIds: 'openstack:networking/getPortIds:getPortIds',
  getPort: 'openstack:networking/getPort:getPort',
  getRouter: 'openstack:networking/getRouter:getRouter',
  getImage: 'openstack:images/getImage:getImage',
  container: 'openstack:objectstorage/container:Container',
  object: 'openstack:objectstorage/containerObject:ContainerObject',
  getAuthScope: 'openstack:identity/getAuthScope:getAuthScope',
};
const TAGGABLE = new Set([
  T.network,
  T.subnet,
  T.router,
  T.secGroup,
  T.port,
  T.instance,
  T.fip,
  T.lb,
  T.listener,
]);
const TAG = 'nkd-cluster=demo';
const API_CIDRS = ['198.51.100.0/24', '203.0.113.7/32'];
const CA_PEM = '-----BEGIN CERTIFICATE-----\nFAKE-IGNITION-SERVICE-CA\n-----END CERTIFICATE-----\n';

type Inputs = Record<string, unknown>;
interface Registered {
  type: string;
  name: string;
  inputs: Inputs;
  protect: boolean | undefined;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  /** Names of the resources this one depends on. */
  dependsOn: string[];
}
interface Run {
  resources: Registered[];
  calls: { token: string; inputs: Inputs }[];
  outputs: {
    apiEndpoint: string;
    nodes: { name: string; role: string; address: string; providerId: string }[];
  };
  fipAddress: Map<string, string>;
}

function buildInput(platform: Record<string, unknown> = {}, kubernetes: Record<string, unknown> = {}) {
  const config = validConfig({
    kubernetes,
    platform: {
      openstack: {
        cloud: 'testcloud',
        image: 'nestos-22.03',
        flavor: { controlPlane: 'm1.large', workers: 'm1.medium' },
        network: { cidr: '10.20.0.0/24' },
        externalNetwork: 'public',
        apiAllowedCIDRs: API_CIDRS,
        ...platform,
      },
    },
  });
  const plan = planCluster(config);
  const nodes: NodeBootData[] = plan.nodes.map((node) => {
    const ignition = serializeIgnition({ ignition: { version: '3.3.0' } });
    const pointer = serializeIgnition(
      pointerConfig({
        url: `https://203.0.113.10:22623/ignition/${node.name}`,
        caCertPem: CA_PEM,
        token: `token-of-${node.name}`,
        sha512Hex: sha512Hex(ignition),
        hostname: node.name,
      }),
    );
    return { node, ignition, pointer };
  });
  const input: ProgramInput<OpenStackConfig> = {
    plan,
    platform: config.spec.platform.openstack as OpenStackConfig,
    nodes,
    clusterDir: '/nonexistent/nkd-test',
  };
  return input;
}

const lastSegment = (urn: string): string => urn.split('::').at(-1)!;

/** Neutron's answers for an existing network, as the invokes return them (recorded shapes). */
interface CloudAnswers {
  subnet: Inputs;
  /** fixed IP → ports holding it */
  portsAt: Record<string, Inputs[]>;
  /** Router interface port at the gateway, and its router. */
  routerPort?: Inputs;
  router?: Inputs;
  /** Keystone's service catalog, as getAuthScope answers it. */
  catalog?: Inputs[];
}

/** A catalog with Swift in two regions (recorded shape of getAuthScope's serviceCatalogs). */
const SWIFT_CATALOG: Inputs[] = [
  {
    id: 'svc-compute',
    name: 'nova',
    type: 'compute',
    endpoints: [
      {
        id: 'e1',
        interface: 'public',
        region: 'RegionOne',
        regionId: 'RegionOne',
        url: 'https://nova.example:8774/v2.1',
      },
    ],
  },
  {
    id: 'svc-swift',
    name: 'swift',
    type: 'object-store',
    endpoints: [
      {
        id: 'e2',
        interface: 'internal',
        region: 'RegionOne',
        regionId: 'RegionOne',
        url: 'http://10.0.0.5:8080/v1/AUTH_p1',
      },
      {
        id: 'e3',
        interface: 'public',
        region: 'RegionOne',
        regionId: 'RegionOne',
        url: 'https://swift.example:8080/v1/AUTH_p1',
      },
      {
        id: 'e4',
        interface: 'public',
        region: 'RegionTwo',
        regionId: 'RegionTwo',
        url: 'https://swift2.example/v1/AUTH_p1',
      },
    ],
  },
];

const FRESH_EXISTING: CloudAnswers = {
  subnet: {
    id: 'existing-subnet-id',
    cidr: '10.20.0.0/24',
    gatewayIp: '10.20.0.1',
    enableDhcp: true,
    allocationPools: [{ start: '10.20.0.200', end: '10.20.0.250' }],
  },
  portsAt: {},
  routerPort: { id: 'rport-id', deviceId: 'router-1', deviceOwner: 'network:router_interface', allTags: [] },
  router: { id: 'router-1', externalNetworkId: 'public-net-id' },
};

async function runProgram(
  input: ProgramInput<OpenStackConfig>,
  cloud: CloudAnswers = FRESH_EXISTING,
  /** Where registrations are recorded (given: a run that throws still shows what it registered). */
  resources: Registered[] = [],
): Promise<Run> {
  const calls: Run['calls'] = [];
  const fipAddress = new Map<string, string>();
  const options = new Map<
    string,
    Pick<Registered, 'protect' | 'deleteBeforeReplace' | 'ignoreChanges' | 'dependsOn'>
  >();
  // A fresh mock monitor per run: Pulumi's runtime state is global, setMocks resets it.
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const state: Inputs = { ...args.inputs };
        if (args.type === T.fipAssociate) state.floatingIp = args.inputs.floatingIp;
        if (args.type === T.lb) state.vipPortId = args.inputs.vipPortId;
        if (args.type === T.fip) {
          state.address = `203.0.113.${100 + fipAddress.size}`;
          fipAddress.set(args.name, state.address as string);
        }
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, ...options.get(args.name)! });
        return { id: `${args.name}-id`, state };
      },
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs });
        if (args.token === T.getNetwork) {
          const name = (args.inputs.name as string | undefined) ?? 'by-id';
          return { ...args.inputs, id: `${name}-net-id`, name };
        }
        if (args.token === T.getSubnet) return { ...args.inputs, ...cloud.subnet };
        if (args.token === T.getPortIds) {
          if (args.inputs.deviceOwner !== undefined)
            return {
              ids:
                args.inputs.deviceOwner === 'network:router_interface' && cloud.routerPort
                  ? ['rport-id']
                  : [],
            };
          return { ids: (cloud.portsAt[args.inputs.fixedIp as string] ?? []).map((p) => p.id) };
        }
        if (args.token === T.getPort) {
          if (args.inputs.portId === 'rport-id') return cloud.routerPort!;
          const all = Object.values(cloud.portsAt).flat();
          return all.find((p) => p.id === args.inputs.portId)!;
        }
        if (args.token === T.getRouter) return cloud.router!;
        if (args.token === T.getImage) return { ...args.inputs, id: 'image-uuid' };
        if (args.token === T.getAuthScope)
          return { ...args.inputs, region: 'RegionOne', serviceCatalogs: cloud.catalog ?? SWIFT_CATALOG };
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    'nkd-demo',
    'demo',
    false,
  );
  // The options are not passed to newResource; they are on the request the SDK sends the monitor.
  type Request = {
    getName(): string;
    getProtect(): boolean | undefined;
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getDependenciesList(): string[];
  };
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: Request, cb: unknown): void;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    options.set(req.getName(), {
      protect: req.getProtect(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      ignoreChanges: req.getIgnorechangesList(),
      dependsOn: req.getDependenciesList().map(lastSegment),
    });
    register(req, cb);
  };
  const { openstackProgram } = await import('../../providers/openstack/program.js');
  const raw = await openstackProgram.run(input);
  const outputs = await new Promise<Run['outputs']>((resolve) =>
    pulumi.output(raw).apply((v) => resolve(v as never)),
  );
  await pulumi.runtime.disconnect(); // waits for every outstanding registration
  return { resources, calls, outputs, fipAddress };
}

const ofType = (run: Run, type: string) => run.resources.filter((r) => r.type === type);
const named = (run: Run, name: string) => {
  const found = run.resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}`);
  return found;
};
const secretValue = (value: unknown): string => {
  expect(value).toMatchObject({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig });
  return (value as { value: string }).value;
};

const CPS = ['demo-cp-1', 'demo-cp-2', 'demo-cp-3'];
const WORKERS = ['demo-worker-1', 'demo-worker-2'];
const NODES = [...CPS, ...WORKERS];
const LB_ADDRESS = '10.20.0.127';
const CP_SG = 'demo-secgroup-control-plane-id';
const WORKER_SG = 'demo-secgroup-worker-id';

describe('openstack program: resource graph for 3 control planes and 2 workers', () => {
  let shared: Promise<Run> | undefined;
  const defaultRun = () => (shared ??= runProgram(buildInput()));

  it('registers network, router, a security and a server group per role, the API load balancer and a port and instance per node, with deterministic names', async () => {
    const run = await defaultRun();
    const names = (type: string) =>
      ofType(run, type)
        .map((r) => r.name)
        .sort();
    expect(names(T.provider)).toEqual(['demo-provider']);
    expect(named(run, 'demo-provider').inputs).toMatchObject({ cloud: 'testcloud' });
    expect(names(T.network)).toEqual(['demo-net']);
    expect(names(T.subnet)).toEqual(['demo-subnet']);
    expect(names(T.router)).toEqual(['demo-router']);
    expect(names(T.routerInterface)).toEqual(['demo-router-interface']);
    expect(names(T.secGroup)).toEqual(['demo-secgroup-control-plane', 'demo-secgroup-worker']);
    expect(names(T.serverGroup)).toEqual(['demo-server-group-control-plane', 'demo-server-group-worker']);
    expect(names(T.port)).toEqual([...NODES.map((n) => `demo-port-${n}`), 'demo-port-api'].sort());
    expect(names(T.instance)).toEqual(NODES.map((n) => `demo-instance-${n}`).sort());
    expect(names(T.lb)).toEqual(['demo-lb']);
    expect(names(T.fip)).toEqual(['demo-fip-api']);
    const known = new Set([...Object.values(T), T.rule]);
    expect(run.resources.filter((r) => !known.has(r.type))).toEqual([]);
    const again = await runProgram(buildInput());
    expect(again.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      run.resources.map((r) => `${r.type} ${r.name}`).sort(),
    );
  });

  it('tags every taggable resource with the cluster tag', async () => {
    const run = await defaultRun();
    const taggable = run.resources.filter((r) => TAGGABLE.has(r.type));
    // net, subnet, router, 2 groups, 6 ports, 5 instances, 1 floating IP, balancer, listener
    expect(taggable.length).toBe(1 + 1 + 1 + 2 + 6 + 5 + 1 + 1 + 1);
    for (const r of taggable) expect(r.inputs.tags, r.name).toEqual([TAG]);
  });

  it("creates the subnet with an allocation pool above every planned address, so Neutron's DHCP and metadata ports never take one", async () => {
    const run = await defaultRun();
    const subnet = named(run, 'demo-subnet').inputs;
    expect(subnet).toMatchObject({
      networkId: 'demo-net-id',
      cidr: '10.20.0.0/24',
      gatewayIp: '10.20.0.1',
      ipVersion: 4,
      allocationPools: [{ start: '10.20.0.128', end: '10.20.0.254' }],
    });
    expect(subnet.dnsNameservers).toBeUndefined();
    const last = (a: string) => Number(a.split('.')[3]);
    const planned = [...buildInput().plan.nodes.map((n) => n.address), LB_ADDRESS];
    for (const address of planned) expect(last(address), address).toBeLessThan(128);
    expect(run.calls).toEqual([{ token: T.getNetwork, inputs: { name: 'public' } }]);
    expect(named(run, 'demo-router').inputs).toMatchObject({ externalNetworkId: 'public-net-id' });
  });

  it('hands out the configured DNS servers on the subnet it creates', async () => {
    const run = await runProgram(
      buildInput({ network: { cidr: '10.20.0.0/24', dnsNameservers: ['192.0.2.53'] } }),
    );
    expect(named(run, 'demo-subnet').inputs.dnsNameservers).toEqual(['192.0.2.53']);
  });

  it("gives each port its node's planned address, its role's security group, port security and the pod subnet; a replacement deletes the old port first", async () => {
    const run = await defaultRun();
    for (const node of buildInput().plan.nodes) {
      const port = named(run, `demo-port-${node.name}`);
      expect(port.inputs).toMatchObject({
        networkId: 'demo-net-id',
        fixedIps: [{ subnetId: 'demo-subnet-id', ipAddress: node.address }],
        portSecurityEnabled: true,
        securityGroupIds: [node.role === 'control-plane' ? CP_SG : WORKER_SG],
        allowedAddressPairs: [{ ipAddress: '10.244.0.0/16' }],
      });
      expect(port.deleteBeforeReplace, node.name).toBe(true);
    }
  });

  it('boots each instance from its own port with the image, the flavor of its role and cluster metadata', async () => {
    const run = await defaultRun();
    for (const name of NODES) {
      const role = CPS.includes(name) ? 'control-plane' : 'worker';
      expect(named(run, `demo-instance-${name}`).inputs).toMatchObject({
        name,
        imageName: 'nestos-22.03',
        flavorName: role === 'control-plane' ? 'm1.large' : 'm1.medium',
        networks: [{ port: `demo-port-${name}-id` }],
        metadata: { 'nkd-cluster': 'demo', 'nkd-role': role },
      });
      expect(named(run, `demo-instance-${name}`).inputs.blockDevices).toBeUndefined();
    }
  });

  it('protects control-plane instances; control planes are in a strict anti-affinity group, workers in a soft one', async () => {
    const run = await defaultRun();
    expect(named(run, 'demo-server-group-control-plane').inputs).toMatchObject({
      name: 'demo-control-plane',
      policies: ['anti-affinity'],
    });
    expect(named(run, 'demo-server-group-worker').inputs).toMatchObject({
      name: 'demo-workers',
      policies: ['soft-anti-affinity'],
    });
    for (const name of CPS) {
      const instance = named(run, `demo-instance-${name}`);
      expect(instance.protect).toBe(true);
      expect(instance.inputs.schedulerHints).toEqual([{ group: 'demo-server-group-control-plane-id' }]);
    }
    for (const name of WORKERS) {
      const instance = named(run, `demo-instance-${name}`);
      expect(instance.protect).not.toBe(true);
      expect(instance.inputs.schedulerHints).toEqual([{ group: 'demo-server-group-worker-id' }]);
    }
    expect(
      run.resources
        .filter((r) => r.protect === true)
        .map((r) => r.name)
        .sort(),
    ).toEqual(CPS.map((n) => `demo-instance-${n}`));
  });

  it('ignores userData, image, boot volume and flavor changes on every instance and lets no instance wait for another', async () => {
    const run = await defaultRun();
    for (const instance of ofType(run, T.instance)) {
      expect(instance.ignoreChanges).toEqual(
        expect.arrayContaining(['userData', 'imageId', 'imageName', 'blockDevices', 'flavorName']),
      );
      expect(instance.dependsOn.filter((d) => d.startsWith('demo-instance-'))).toEqual([]);
      expect(instance.dependsOn).toContain('demo-router-interface');
    }
  });

  it("delivers each node's pointer config as secret user data under Nova's limit", async () => {
    const run = await defaultRun();
    for (const name of NODES) {
      const text = secretValue(named(run, `demo-instance-${name}`).inputs.userData);
      expect(userDataSize(text)).toBeLessThan(NOVA_USER_DATA_LIMIT);
      const pointer = JSON.parse(text);
      const merge = pointer.ignition.config.merge;
      expect(merge[0].source).toBe(`https://203.0.113.10:22623/ignition/${name}`);
      expect(merge[0].httpHeaders).toEqual([{ name: 'Authorization', value: `Bearer token-of-${name}` }]);
      expect(merge[0].verification.hash).toMatch(/^sha512-[0-9a-f]{128}$/);
    }
  });

  it('puts an Octavia load balancer at the planned endpoint address with every control plane behind a /readyz health check', async () => {
    const run = await defaultRun();
    expect(buildInput().plan.kubernetes.controlPlaneEndpoint).toEqual({ host: LB_ADDRESS, port: 6443 });
    expect(named(run, 'demo-port-api').inputs).toMatchObject({
      fixedIps: [{ subnetId: 'demo-subnet-id', ipAddress: LB_ADDRESS }],
    });
    expect(named(run, 'demo-lb').inputs).toMatchObject({ vipPortId: 'demo-port-api-id' });
    expect(named(run, 'demo-lb-listener').inputs).toMatchObject({
      loadbalancerId: 'demo-lb-id',
      protocol: 'TCP',
      protocolPort: 6443,
      allowedCidrs: ['10.20.0.0/24', ...API_CIDRS],
      timeoutClientData: 3_600_000,
    });
    expect(named(run, 'demo-lb-pool').inputs).toMatchObject({ protocol: 'TCP', lbMethod: 'ROUND_ROBIN' });
    expect(named(run, 'demo-lb-monitor').inputs).toMatchObject({ type: 'HTTPS', urlPath: '/readyz' });
    const members = named(run, 'demo-lb-members').inputs.members as Inputs[];
    expect(members.map((m) => [m.name, m.address, m.protocolPort])).toEqual(
      buildInput()
        .plan.nodes.filter((n) => n.role === 'control-plane')
        .map((n) => [n.name, n.address, 6443]),
    );
  });

  it('gives only the API endpoint a floating IP by default and reports it as the API endpoint', async () => {
    const run = await defaultRun();
    expect(named(run, 'demo-fip-api').inputs).toMatchObject({ pool: 'public', portId: 'demo-port-api-id' });
    expect(run.outputs.apiEndpoint).toBe(`${run.fipAddress.get('demo-fip-api')}:6443`);
    expect(run.outputs.nodes).toEqual(
      buildInput().plan.nodes.map((n) => ({
        name: n.name,
        role: n.role,
        address: n.address,
        providerId: `demo-instance-${n.name}-id`,
      })),
    );
  });
});

describe('openstack program: security groups', () => {
  const rulesOf = async (platform: Record<string, unknown> = {}) => {
    const run = await runProgram(buildInput(platform));
    return { run, rules: ofType(run, T.rule).map((r) => r.inputs) };
  };
  const covers = (r: Inputs, port: number) =>
    (r.protocol === undefined || r.protocol === 'tcp') &&
    (r.portRangeMin === undefined ||
      ((r.portRangeMin as number) <= port && port <= (r.portRangeMax as number)));

  it('lets only control planes reach etcd; workers reach the API and kubelet of control planes', async () => {
    const { rules } = await rulesOf();
    const intoCp = rules.filter((r) => r.securityGroupId === CP_SG && r.direction === 'ingress');
    for (const port of [2379, 2380]) {
      const open = intoCp.filter((r) => covers(r, port));
      expect(
        open.map((r) => r.remoteGroupId),
        `${port}`,
      ).toEqual([CP_SG]);
    }
    for (const port of [6443, 10250, 179]) {
      expect(
        intoCp.some((r) => covers(r, port) && r.remoteGroupId === WORKER_SG),
        `${port}`,
      ).toBe(true);
    }
    expect(intoCp.some((r) => r.remoteGroupId === WORKER_SG && r.protocol === 'udp')).toBe(true);
    expect(intoCp.some((r) => r.remoteGroupId === WORKER_SG && r.protocol === '4')).toBe(true);
  });

  it('opens 6443 from outside only to apiAllowedCIDRs and the node network (the load balancer), never to 0.0.0.0/0', async () => {
    const { rules } = await rulesOf();
    const ingress = rules.filter((r) => r.direction === 'ingress');
    expect(ingress.filter((r) => r.remoteIpPrefix === '0.0.0.0/0')).toEqual([]);
    const api = ingress.filter((r) => r.remoteIpPrefix !== undefined && covers(r, 6443));
    expect(api.map((r) => `${r.securityGroupId} ${r.remoteIpPrefix}`).sort()).toEqual(
      [...API_CIDRS, '10.20.0.0/24'].map((c) => `${CP_SG} ${c}`).sort(),
    );
    for (const port of [2379, 2380, 10250]) {
      expect(
        ingress.filter((r) => r.remoteIpPrefix !== undefined && covers(r, port)),
        `${port}`,
      ).toEqual([]);
    }
  });

  it('opens no API port at all from outside with the defaults and no load balancer', async () => {
    const { rules } = await rulesOf({
      apiAllowedCIDRs: undefined,
      apiEndpoint: { type: 'first-control-plane' },
    });
    const api = rules.filter(
      (r) => r.direction === 'ingress' && r.remoteIpPrefix !== undefined && covers(r, 6443),
    );
    expect(api).toEqual([]);
  });

  it('opens NodePorts on workers from the node network and nothing on control planes', async () => {
    const { rules } = await rulesOf();
    const nodePorts = rules.filter((r) => r.portRangeMin === 30000);
    expect(nodePorts.map((r) => `${r.securityGroupId} ${r.protocol} ${r.remoteIpPrefix}`).sort()).toEqual([
      `${WORKER_SG} tcp 10.20.0.0/24`,
      `${WORKER_SG} udp 10.20.0.0/24`,
    ]);
  });

  it('allowAllInCluster lets workers reach control planes on any protocol (opt-in)', async () => {
    const { rules } = await rulesOf({ allowAllInCluster: true });
    const fromWorkers = rules.filter((r) => r.securityGroupId === CP_SG && r.remoteGroupId === WORKER_SG);
    expect(fromWorkers).toHaveLength(1);
    expect(fromWorkers[0]!.protocol).toBeUndefined();
    expect(fromWorkers[0]!.portRangeMin).toBeUndefined();
  });

  it('deletes a rule before creating its replacement (Neutron would see the new one as a duplicate)', async () => {
    const { run } = await rulesOf();
    const rules = ofType(run, T.rule);
    expect(rules.length).toBeGreaterThan(10);
    for (const rule of rules) expect(rule.deleteBeforeReplace, rule.name).toBe(true);
  });

  it('creates exactly the rules securityRules() lists, each with a unique name', async () => {
    const { run } = await rulesOf();
    const expected = securityRules({
      nodeCidr: '10.20.0.0/24',
      apiAllowedCIDRs: API_CIDRS,
      loadBalancer: true,
      allowAllInCluster: false,
    });
    expect(
      ofType(run, T.rule)
        .map((r) => r.name)
        .sort(),
    ).toEqual(expected.map((r) => `demo-rule-${r.group}-${r.key}`).sort());
  });
});

describe('openstack program: configuration variants', () => {
  it('uses an existing network after judging it, creating no network, subnet or router', async () => {
    const run = await runProgram(buildInput({ network: { name: 'shared-net', cidr: '10.20.0.0/24' } }));
    for (const type of [T.network, T.subnet, T.router, T.routerInterface])
      expect(ofType(run, type)).toEqual([]);
    expect(run.calls).toContainEqual({ token: T.getNetwork, inputs: { name: 'shared-net' } });
    expect(run.calls).toContainEqual({
      token: T.getSubnet,
      inputs: { networkId: 'shared-net-net-id', cidr: '10.20.0.0/24' },
    });
    // Every planned address was looked for among the network's ports.
    const looked = run.calls.filter((c) => c.token === T.getPortIds && c.inputs.deviceOwner === undefined);
    expect(looked.map((c) => c.inputs.fixedIp).sort()).toEqual(
      [...buildInput().plan.nodes.map((n) => n.address), LB_ADDRESS].sort(),
    );
    for (const port of ofType(run, T.port)) {
      expect(port.inputs).toMatchObject({ networkId: 'shared-net-net-id' });
      expect(port.inputs.fixedIps).toEqual([expect.objectContaining({ subnetId: 'existing-subnet-id' })]);
    }
  });

  it('accepts its own ports from an earlier run on an existing network', async () => {
    const cp1 = buildInput().plan.nodes[0]!;
    const cloud = {
      ...FRESH_EXISTING,
      portsAt: { [cp1.address]: [{ id: 'p1', name: `demo-port-${cp1.name}`, allTags: [TAG] }] },
    };
    const run = await runProgram(
      buildInput({ network: { name: 'shared-net', cidr: '10.20.0.0/24' } }),
      cloud,
    );
    expect(ofType(run, T.instance)).toHaveLength(5);
  });

  it.each([
    ['none', []],
    ['api', ['demo-fip-api']],
    ['control-plane', ['demo-fip-api', ...CPS.map((n) => `demo-fip-${n}`)]],
    ['all', ['demo-fip-api', ...NODES.map((n) => `demo-fip-${n}`)]],
  ])('floatingIPs: %s creates floating IPs %j, each tagged', async (floatingIPs, names) => {
    const run = await runProgram(buildInput({ floatingIPs }));
    const fips = ofType(run, T.fip);
    expect(fips.map((f) => f.name).sort()).toEqual([...names].sort());
    for (const fip of fips) expect(fip.inputs.tags).toEqual([TAG]);
    if (names.length === 0) expect(run.outputs.apiEndpoint).toBe(`${LB_ADDRESS}:6443`);
  });

  it('without a load balancer, the default gives only the first control plane a floating IP and reports it', async () => {
    const run = await runProgram(buildInput({ apiEndpoint: { type: 'first-control-plane' } }));
    expect(ofType(run, T.lb)).toEqual([]);
    expect(ofType(run, T.fip).map((f) => f.name)).toEqual(['demo-fip-demo-cp-1']);
    expect(run.outputs.apiEndpoint).toBe(`${run.fipAddress.get('demo-fip-demo-cp-1')}:6443`);
  });

  it('associates an existing floating IP with the load balancer and puts it in the API certificate', async () => {
    const input = buildInput({ apiEndpoint: { floatingIP: '198.51.100.80' } });
    expect(input.plan.kubernetes.apiServerCertSANs).toEqual(
      expect.arrayContaining(['198.51.100.80', LB_ADDRESS]),
    );
    const run = await runProgram(input);
    expect(ofType(run, T.fip)).toEqual([]);
    expect(named(run, 'demo-fip-associate-api').inputs).toMatchObject({
      floatingIp: '198.51.100.80',
      portId: 'demo-port-api-id',
    });
    expect(run.outputs.apiEndpoint).toBe('198.51.100.80:6443');
  });

  it('with the ovn Octavia provider, balances on source IP and port with a TCP monitor and no amphora-only options', async () => {
    const run = await runProgram(buildInput({ apiEndpoint: { octaviaProvider: 'ovn' } }));
    expect(named(run, 'demo-lb').inputs).toMatchObject({ loadbalancerProvider: 'ovn' });
    expect(named(run, 'demo-lb-pool').inputs).toMatchObject({ lbMethod: 'SOURCE_IP_PORT' });
    expect(named(run, 'demo-lb-monitor').inputs).toMatchObject({ type: 'TCP' });
    expect(named(run, 'demo-lb-listener').inputs.allowedCidrs).toBeUndefined();
    expect(named(run, 'demo-lb-listener').inputs.timeoutClientData).toBeUndefined();
  });

  it('passes region to the provider, and soft anti-affinity / no worker group when configured', async () => {
    const run = await runProgram(
      buildInput({
        region: 'RegionTwo',
        serverGroups: { controlPlane: 'soft-anti-affinity', workers: 'none' },
      }),
    );
    expect(named(run, 'demo-provider').inputs).toMatchObject({ cloud: 'testcloud', region: 'RegionTwo' });
    expect(ofType(run, T.serverGroup).map((g) => [g.name, g.inputs.policies])).toEqual([
      ['demo-server-group-control-plane', ['soft-anti-affinity']],
    ]);
    for (const name of WORKERS)
      expect(named(run, `demo-instance-${name}`).inputs.schedulerHints).toBeUndefined();
  });

  it('boots from a Cinder volume made from the image when rootVolume is set', async () => {
    const run = await runProgram(buildInput({ rootVolume: { sizeGiB: 60, type: 'ssd' } }));
    expect(run.calls).toContainEqual({
      token: T.getImage,
      inputs: { name: 'nestos-22.03', mostRecent: true },
    });
    for (const instance of ofType(run, T.instance)) {
      expect(instance.inputs.imageName).toBeUndefined();
      expect(instance.inputs.blockDevices).toEqual([
        expect.objectContaining({
          sourceType: 'image',
          uuid: 'image-uuid',
          destinationType: 'volume',
          volumeSize: 60,
          volumeType: 'ssd',
          bootIndex: 0,
          deleteOnTermination: true,
        }),
      ]);
    }
  });

  it('reports a configured endpoint name as the API endpoint as is', async () => {
    const run = await runProgram(buildInput({}, { controlPlaneEndpoint: 'api.demo.example.com:6443' }));
    expect(run.outputs.apiEndpoint).toBe('api.demo.example.com:6443');
  });

  it('takes an image that looks like a Glance id as imageId', async () => {
    const id = '3f1d9c2e-8a4b-4c6d-9e0f-1a2b3c4d5e6f';
    const run = await runProgram(buildInput({ image: id, flavor: 'm1.xlarge' }));
    for (const instance of ofType(run, T.instance)) {
      expect(instance.inputs).toMatchObject({ imageId: id, flavorName: 'm1.xlarge' });
      expect(instance.inputs.imageName).toBeUndefined();
    }
  });
});

describe('openstack program: a keepalived VIP instead of Octavia', () => {
  const vip = () => runProgram(buildInput({ apiEndpoint: { type: 'vip' } }));

  it('holds the VIP in a port of its own, with no device, below the pool, and makes no load balancer', async () => {
    const run = await vip();
    expect(buildInput({ apiEndpoint: { type: 'vip' } }).plan.kubernetes.apiVip).toEqual({
      address: LB_ADDRESS,
      virtualRouterId: 127,
    });
    for (const type of [T.lb, T.listener, T.pool, T.monitor, T.members])
      expect(ofType(run, type)).toEqual([]);
    const port = named(run, 'demo-port-api');
    expect(port.inputs).toMatchObject({
      fixedIps: [{ subnetId: 'demo-subnet-id', ipAddress: LB_ADDRESS }],
      portSecurityEnabled: true,
      securityGroupIds: [CP_SG],
      tags: [TAG],
    });
    expect(port.inputs.deviceId).toBeUndefined();
    expect(port.deleteBeforeReplace).toBe(true);
    // No instance is attached to it: every instance boots from its own node port.
    for (const instance of ofType(run, T.instance))
      expect(instance.inputs.networks).toEqual([{ port: `demo-port-${instance.inputs.name as string}-id` }]);
    const subnet = ofType(run, T.subnet)[0]!;
    expect(subnet.inputs.allocationPools).toEqual([{ start: '10.20.0.128', end: '10.20.0.254' }]);
  });

  it('lets every control-plane port, and no worker port, answer for the VIP', async () => {
    const run = await vip();
    for (const name of CPS)
      expect(named(run, `demo-port-${name}`).inputs.allowedAddressPairs).toEqual([
        { ipAddress: '10.244.0.0/16' },
        { ipAddress: LB_ADDRESS },
      ]);
    for (const name of WORKERS)
      expect(named(run, `demo-port-${name}`).inputs.allowedAddressPairs).toEqual([
        { ipAddress: '10.244.0.0/16' },
      ]);
  });

  it('lets VRRP pass between control planes (any protocol from their group) and opens no API port to the node network', async () => {
    const run = await vip();
    const rules = ofType(run, T.rule).map((r) => r.inputs);
    const anyFromCps = rules.filter(
      (r) =>
        r.securityGroupId === CP_SG &&
        r.direction === 'ingress' &&
        r.remoteGroupId === CP_SG &&
        r.protocol === undefined,
    );
    expect(anyFromCps).toHaveLength(1); // VRRP is IP protocol 112: "any protocol" covers it
    expect(rules.filter((r) => r.remoteIpPrefix === '10.20.0.0/24' && r.portRangeMin === 6443)).toEqual([]);
  });

  it('gives the VIP port the API floating IP and reports it as the endpoint', async () => {
    const run = await vip();
    expect(named(run, 'demo-fip-api').inputs).toMatchObject({
      portId: 'demo-port-api-id',
      fixedIp: LB_ADDRESS,
    });
    expect(run.outputs.apiEndpoint).toBe(`${run.fipAddress.get('demo-fip-api')}:6443`);
  });
});

describe('openstack program: failing before anything is registered', () => {
  const expectNothingRegistered = async (
    input: ProgramInput<OpenStackConfig>,
    message: RegExp,
    cloud: CloudAnswers = FRESH_EXISTING,
  ) => {
    const resources: string[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          if (args.type !== T.provider) resources.push(args.name);
          return { id: 'x', state: args.inputs };
        },
        call: (args) => {
          if (args.token === T.getNetwork) return { id: `${String(args.inputs.name)}-net-id` };
          if (args.token === T.getSubnet) return cloud.subnet;
          if (args.token === T.getPortIds) {
            if (args.inputs.deviceOwner !== undefined)
              return {
                ids:
                  args.inputs.deviceOwner === 'network:router_interface' && cloud.routerPort
                    ? ['rport-id']
                    : [],
              };
            return { ids: (cloud.portsAt[args.inputs.fixedIp as string] ?? []).map((p) => p.id) };
          }
          if (args.token === T.getPort) {
            if (args.inputs.portId === 'rport-id') return cloud.routerPort!;
            return Object.values(cloud.portsAt)
              .flat()
              .find((p) => p.id === args.inputs.portId)!;
          }
          if (args.token === T.getRouter) return cloud.router!;
          return {};
        },
      },
      'nkd-demo',
      'demo',
      false,
    );
    const { openstackProgram } = await import('../../providers/openstack/program.js');
    await expect(openstackProgram.run(input)).rejects.toThrow(message);
    await pulumi.runtime.disconnect();
    expect(resources).toEqual([]);
  };
  const existing = () => buildInput({ network: { name: 'shared-net', cidr: '10.20.0.0/24' } });

  it('fails when a node has no pointer config', async () => {
    const input = buildInput();
    delete input.nodes[3]!.pointer;
    await expectNothingRegistered(input, /node demo-worker-1 has no pointer Ignition config/);
  });

  it("fails when a node's pointer config exceeds Nova's user-data limit", async () => {
    const input = buildInput();
    const big = JSON.parse(input.nodes[4]!.pointer!);
    big.storage.files[0].contents.source = `data:,${'x'.repeat(50_000)}`;
    input.nodes[4]!.pointer = JSON.stringify(big);
    await expectNothingRegistered(input, /user data for node demo-worker-2 is too large for OpenStack/);
  });

  it('fails when nkd must create the network but no external network is named', async () => {
    const input = buildInput();
    delete (input.platform as { externalNetwork?: string }).externalNetwork;
    await expectNothingRegistered(input, /externalNetwork is required/);
  });

  it("refuses an existing network whose port already holds a planned address (Neutron's DHCP port at .2)", async () => {
    const cloud = {
      ...FRESH_EXISTING,
      portsAt: {
        '10.20.0.2': [{ id: 'dhcp-port', name: '', deviceOwner: 'network:dhcp', allTags: [] }],
      },
    };
    await expectNothingRegistered(
      existing(),
      /10\.20\.0\.2 \(node demo-cp-1\) is already held by network:dhcp port dhcp-port/,
      cloud,
    );
  });

  it('refuses an existing network whose gateway is not the planned one, naming the key to set', async () => {
    const cloud = { ...FRESH_EXISTING, subnet: { ...FRESH_EXISTING.subnet, gatewayIp: '10.20.0.254' } };
    await expectNothingRegistered(
      existing(),
      /set spec\.platform\.openstack\.network\.gateway: 10\.20\.0\.254/,
      cloud,
    );
  });

  it('refuses an existing network routed to another external network when floating IPs are wanted', async () => {
    const cloud = { ...FRESH_EXISTING, router: { id: 'router-1', externalNetworkId: 'other-net-id' } };
    await expectNothingRegistered(
      existing(),
      /routed by router router-1 to external network other-net-id/,
      cloud,
    );
  });
});

describe('openstack program: ignitionDelivery swift', () => {
  const KEY = 'a'.repeat(64);
  const EXPIRES = 1_900_000_000;
  const swiftInput = (store: string[] = NODES) => {
    const input = buildInput({ ignitionDelivery: 'swift' });
    input.nodes = input.nodes.map(({ node }) => ({
      node,
      ignition: serializeIgnition({ ignition: { version: '3.3.0' }, storage: { files: [] } }).replace(
        '{',
        `{"n":"${node.name}",`,
      ),
    }));
    input.ignitionObjects = { tempUrlKey: KEY, expires: EXPIRES, store };
    return input;
  };

  it("stores each unfetched node's config in the cluster's container, whose Temp-URL-Key signs the pointers' URLs", async () => {
    const input = swiftInput(NODES.filter((n) => n !== 'demo-cp-1'));
    const run = await runProgram(input);
    const container = named(run, 'demo-ignition').inputs;
    expect(container).toMatchObject({ name: 'demo-ignition', forceDestroy: true });
    expect(secretValue(container.metadata)).toEqual({ 'Temp-Url-Key': KEY });
    // demo-cp-1 has fetched its config in an earlier run: no object for it.
    expect(
      ofType(run, T.object)
        .map((r) => r.name)
        .sort(),
    ).toEqual(
      NODES.filter((n) => n !== 'demo-cp-1')
        .map((n) => `demo-ignition-${n}`)
        .sort(),
    );
    for (const boot of input.nodes.filter((b) => b.node.name !== 'demo-cp-1')) {
      const object = named(run, `demo-ignition-${boot.node.name}`);
      expect(object.inputs).toMatchObject({ containerName: 'demo-ignition', name: `${boot.node.name}.ign` });
      expect(secretValue(object.inputs.content)).toBe(boot.ignition);
      // The instance boots only once its config is stored.
      expect(named(run, `demo-instance-${boot.node.name}`).dependsOn).toContain(
        `demo-ignition-${boot.node.name}`,
      );
    }
    expect(run.outputs).toMatchObject({
      ignitionStore: { storageUrl: 'https://swift.example:8080/v1/AUTH_p1', container: 'demo-ignition' },
    });
    expect(run.calls.filter((c) => c.token === T.getAuthScope)).toHaveLength(1);
  });

  it('boots every node with a pointer that merges its object by a GET TempURL of the public endpoint, with its sha512', async () => {
    const input = swiftInput();
    const run = await runProgram(input);
    for (const boot of input.nodes) {
      const pointer = JSON.parse(
        secretValue(named(run, `demo-instance-${boot.node.name}`).inputs.userData),
      ) as {
        ignition: {
          config: { merge: { source: string; verification: { hash: string }; httpHeaders?: unknown }[] };
        };
      };
      const [merge] = pointer.ignition.config.merge;
      const path = `/v1/AUTH_p1/demo-ignition/${boot.node.name}.ign`;
      // Swift's signature, computed here independently of the program's code.
      const sig = createHmac('sha256', KEY).update(`GET\n${EXPIRES}\n${path}`).digest('hex');
      expect(merge!.source).toBe(
        `https://swift.example:8080${path}?temp_url_sig=${sig}&temp_url_expires=${EXPIRES}`,
      );
      expect(merge!.verification.hash).toBe(`sha512-${sha512Hex(boot.ignition)}`);
      expect(merge!.httpHeaders).toBeUndefined();
    }
  });

  it('refuses, with nothing registered, a cloud whose catalog has no public Swift endpoint, or only plain HTTP', async () => {
    const noSwift = { ...FRESH_EXISTING, catalog: [SWIFT_CATALOG[0]!] };
    const registered: Registered[] = [];
    await expect(runProgram(swiftInput(), noSwift, registered)).rejects.toThrow(
      /no public object-store \(Swift\) endpoint in region RegionOne: ignitionDelivery: swift needs one/,
    );
    await pulumi.runtime.disconnect();
    expect(registered.filter((r) => r.type !== T.provider)).toEqual([]);
    const plain = {
      ...FRESH_EXISTING,
      catalog: [
        {
          type: 'object-store',
          endpoints: [{ interface: 'public', region: 'RegionOne', url: 'http://swift.example/v1/AUTH_p1' }],
        },
      ],
    };
    await expect(runProgram(swiftInput(), plain)).rejects.toThrow(/is not HTTPS/);
  });
});
