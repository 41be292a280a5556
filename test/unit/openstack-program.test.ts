// The OpenStack program under Pulumi mocks: no cloud and no Pulumi engine. Every run records what the
// program registered — type, name and inputs from the mocks' newResource, and the resource options
// (protect, ignoreChanges, dependencies) from the RegisterResourceRequest the SDK sends to the monitor,
// which is exactly what the engine would receive.
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import type { OpenStackConfig } from '../../providers/openstack/config.js';
import { securityRules, exposesPortOutsideGroup } from '../../providers/openstack/security.js';
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
  getNetwork: 'openstack:networking/getNetwork:getNetwork',
  getSubnet: 'openstack:networking/getSubnet:getSubnet',
};
const TAGGABLE = new Set([T.network, T.subnet, T.router, T.secGroup, T.port, T.instance, T.fip]);
const TAG = 'nkd-cluster=demo';
const API_CIDRS = ['198.51.100.0/24', '203.0.113.7/32'];
const CA_PEM = '-----BEGIN CERTIFICATE-----\nFAKE-IGNITION-SERVICE-CA\n-----END CERTIFICATE-----\n';

type Inputs = Record<string, unknown>;
interface Registered {
  type: string;
  name: string;
  inputs: Inputs;
  protect: boolean | undefined;
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

async function runProgram(input: ProgramInput<OpenStackConfig>): Promise<Run> {
  const resources: Registered[] = [];
  const calls: Run['calls'] = [];
  const fipAddress = new Map<string, string>();
  const options = new Map<string, Pick<Registered, 'protect' | 'ignoreChanges' | 'dependsOn'>>();
  // A fresh mock monitor per run: Pulumi's runtime state is global, setMocks resets it.
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const state: Inputs = { ...args.inputs };
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
        if (args.token === T.getSubnet) return { ...args.inputs, id: 'existing-subnet-id' };
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

describe('openstack program: resource graph for 3 control planes and 2 workers', () => {
  let shared: Promise<Run> | undefined;
  const defaultRun = () => (shared ??= runProgram(buildInput()));

  it('registers network, router, security group, server group and a port and instance per node, with deterministic names', async () => {
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
    expect(names(T.secGroup)).toEqual(['demo-secgroup']);
    expect(names(T.serverGroup)).toEqual(['demo-server-group']);
    expect(names(T.port)).toEqual(NODES.map((n) => `demo-port-${n}`).sort());
    expect(names(T.instance)).toEqual(NODES.map((n) => `demo-instance-${n}`).sort());
    expect(names(T.fip)).toEqual(CPS.map((n) => `demo-fip-${n}`));
    const known = new Set([...Object.values(T), T.rule]);
    expect(run.resources.filter((r) => !known.has(r.type))).toEqual([]);
    // A second run of the same input registers exactly the same names.
    const again = await runProgram(buildInput());
    expect(again.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      run.resources.map((r) => `${r.type} ${r.name}`).sort(),
    );
  });

  it('tags every taggable resource with the cluster tag', async () => {
    const run = await defaultRun();
    const taggable = run.resources.filter((r) => TAGGABLE.has(r.type));
    expect(taggable.length).toBe(1 + 1 + 1 + 1 + 5 + 5 + 3);
    for (const r of taggable) expect(r.inputs.tags, r.name).toEqual([TAG]);
  });

  it('creates the subnet with the planned gateway and routes it through the external network looked up by name', async () => {
    const run = await defaultRun();
    expect(named(run, 'demo-subnet').inputs).toMatchObject({
      networkId: 'demo-net-id',
      cidr: '10.20.0.0/24',
      gatewayIp: '10.20.0.1',
      ipVersion: 4,
    });
    expect(named(run, 'demo-subnet').inputs.dnsNameservers).toBeUndefined();
    expect(run.calls).toEqual([{ token: T.getNetwork, inputs: { name: 'public' } }]);
    expect(named(run, 'demo-router').inputs).toMatchObject({ externalNetworkId: 'public-net-id' });
    expect(named(run, 'demo-router-interface').inputs).toMatchObject({
      routerId: 'demo-router-id',
      subnetId: 'demo-subnet-id',
    });
  });

  it("gives each port its node's planned address, the security group and the pod subnet as allowed address pair", async () => {
    const run = await defaultRun();
    const plan = buildInput().plan;
    for (const node of plan.nodes) {
      expect(named(run, `demo-port-${node.name}`).inputs).toMatchObject({
        networkId: 'demo-net-id',
        fixedIps: [{ subnetId: 'demo-subnet-id', ipAddress: node.address }],
        securityGroupIds: ['demo-secgroup-id'],
        allowedAddressPairs: [{ ipAddress: '10.244.0.0/16' }],
      });
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
      expect(named(run, `demo-instance-${name}`).inputs.imageId).toBeUndefined();
    }
  });

  it('protects control-plane instances and places them in the anti-affinity group; workers are neither', async () => {
    const run = await defaultRun();
    expect(named(run, 'demo-server-group').inputs).toMatchObject({ policies: ['anti-affinity'] });
    for (const name of CPS) {
      const instance = named(run, `demo-instance-${name}`);
      expect(instance.protect).toBe(true);
      expect(instance.inputs.schedulerHints).toEqual([{ group: 'demo-server-group-id' }]);
    }
    for (const name of WORKERS) {
      const instance = named(run, `demo-instance-${name}`);
      expect(instance.protect).not.toBe(true);
      expect(instance.inputs.schedulerHints).toBeUndefined();
    }
    expect(
      run.resources
        .filter((r) => r.protect === true)
        .map((r) => r.name)
        .sort(),
    ).toEqual(CPS.map((n) => `demo-instance-${n}`));
  });

  it('ignores userData and image changes on every instance (they replace or rebuild it) and lets no instance wait for another', async () => {
    const run = await defaultRun();
    for (const instance of ofType(run, T.instance)) {
      expect(instance.ignoreChanges).toEqual(expect.arrayContaining(['userData', 'imageId', 'imageName']));
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
      expect(pointer.ignition.version).toBe('3.3.0');
      const merge = pointer.ignition.config.merge;
      expect(merge).toHaveLength(1);
      expect(merge[0].source).toBe(`https://203.0.113.10:22623/ignition/${name}`);
      expect(merge[0].httpHeaders).toEqual([{ name: 'Authorization', value: `Bearer token-of-${name}` }]);
      expect(merge[0].verification.hash).toMatch(/^sha512-[0-9a-f]{128}$/);
      expect(pointer.ignition.security.tls.certificateAuthorities).toHaveLength(1);
    }
  });

  it('never opens etcd or the kubelet outside the group; node traffic uses the group, 6443 only apiAllowedCIDRs', async () => {
    const run = await defaultRun();
    expect(named(run, 'demo-secgroup').inputs).toMatchObject({
      name: 'demo-nodes',
      deleteDefaultRules: true,
    });
    const rules = ofType(run, T.rule).map((r) => r.inputs);
    for (const rule of rules) expect(rule.securityGroupId).toBe('demo-secgroup-id');
    const ingress = rules.filter((r) => r.direction === 'ingress');
    const covers = (r: Inputs, port: number) =>
      (r.protocol === undefined || r.protocol === 'tcp') &&
      (r.portRangeMin === undefined ||
        ((r.portRangeMin as number) <= port && port <= (r.portRangeMax as number)));
    for (const port of [2379, 2380, 10250]) {
      const open = ingress.filter((r) => covers(r, port));
      expect(open.length, `${port}`).toBeGreaterThan(0);
      for (const r of open) {
        expect(r.remoteGroupId, `${port}`).toBe('demo-secgroup-id');
        expect(r.remoteIpPrefix, `${port}`).toBeUndefined();
      }
    }
    expect(ingress.filter((r) => r.remoteIpPrefix === '0.0.0.0/0')).toEqual([]);
    const nodeRule = ingress.filter((r) => r.remoteGroupId !== undefined);
    expect(nodeRule).toEqual([
      expect.objectContaining({ remoteGroupId: 'demo-secgroup-id', ethertype: 'IPv4' }),
    ]);
    expect(nodeRule[0]!.protocol).toBeUndefined();
    const api = ingress.filter((r) => r.remoteIpPrefix !== undefined && covers(r, 6443));
    expect(api.map((r) => [r.protocol, r.portRangeMin, r.portRangeMax, r.remoteIpPrefix]).sort()).toEqual(
      API_CIDRS.map((cidr) => ['tcp', 6443, 6443, cidr]).sort(),
    );
    const fromNodeNet = ingress.filter((r) => r.remoteIpPrefix === '10.20.0.0/24');
    // Registration order is not deterministic (inputs resolve asynchronously): compare sorted.
    expect(fromNodeNet.map((r) => `${r.protocol}/${r.portRangeMin ?? '*'}`).sort()).toEqual([
      'icmp/*',
      'tcp/22',
    ]);
    const egress = rules.filter((r) => r.direction === 'egress');
    expect(egress.map((r) => r.ethertype).sort()).toEqual(['IPv4', 'IPv6']);
    expect(rules).toHaveLength(
      securityRules({ nodeCidr: '10.20.0.0/24', apiAllowedCIDRs: API_CIDRS }).length,
    );
  });

  it("reports the first control plane's floating IP as the API endpoint and each node's instance id", async () => {
    const run = await defaultRun();
    expect(run.outputs.apiEndpoint).toBe(`${run.fipAddress.get('demo-fip-demo-cp-1')}:6443`);
    const plan = buildInput().plan;
    expect(run.outputs.nodes).toEqual(
      plan.nodes.map((n) => ({
        name: n.name,
        role: n.role,
        address: n.address,
        providerId: `demo-instance-${n.name}-id`,
      })),
    );
    for (const fip of ofType(run, T.fip)) {
      const node = fip.name.slice('demo-fip-'.length);
      expect(fip.inputs).toMatchObject({ pool: 'public', portId: `demo-port-${node}-id` });
      expect(fip.dependsOn).toContain('demo-router-interface');
    }
  });
});

describe('openstack program: configuration variants', () => {
  it('uses an existing network and its subnet, creating no network, subnet or router', async () => {
    const run = await runProgram(buildInput({ network: { name: 'shared-net', cidr: '10.20.0.0/24' } }));
    for (const type of [T.network, T.subnet, T.router, T.routerInterface])
      expect(ofType(run, type)).toEqual([]);
    expect(run.calls).toContainEqual({ token: T.getNetwork, inputs: { name: 'shared-net' } });
    expect(run.calls).toContainEqual({
      token: T.getSubnet,
      inputs: { networkId: 'shared-net-net-id', cidr: '10.20.0.0/24' },
    });
    for (const port of ofType(run, T.port)) {
      expect(port.inputs).toMatchObject({ networkId: 'shared-net-net-id' });
      expect(port.inputs.fixedIps).toEqual([expect.objectContaining({ subnetId: 'existing-subnet-id' })]);
    }
  });

  it.each([
    ['none', 0],
    ['control-plane', 3],
    ['all', 5],
  ])('floatingIPs: %s creates %i floating IPs, each tagged', async (floatingIPs, count) => {
    const run = await runProgram(buildInput({ floatingIPs }));
    const fips = ofType(run, T.fip);
    expect(fips).toHaveLength(count);
    for (const fip of fips) expect(fip.inputs.tags).toEqual([TAG]);
    if (count === 0) expect(run.outputs.apiEndpoint).toBe(`${buildInput().plan.nodes[0]!.address}:6443`);
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

describe('openstack program: failing before anything is registered', () => {
  const expectNothingRegistered = async (input: ProgramInput<OpenStackConfig>, message: RegExp) => {
    const resources: string[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          resources.push(args.name);
          return { id: 'x', state: args.inputs };
        },
        call: (args) => {
          resources.push(args.token);
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
    // Config validation refuses this first; the program checks again rather than trust its caller.
    const input = buildInput();
    delete (input.platform as { externalNetwork?: string }).externalNetwork;
    await expectNothingRegistered(input, /externalNetwork is required/);
  });
});

describe('securityRules', () => {
  it('exposes only the API port outside the group, even with the default 0.0.0.0/0 API sources', () => {
    const rules = securityRules({ nodeCidr: '10.0.0.0/24', apiAllowedCIDRs: ['0.0.0.0/0', '0.0.0.0/0'] });
    for (const port of [2379, 2380, 10250, 10257, 10259, 4789]) {
      expect(
        rules.filter((r) => exposesPortOutsideGroup(r, port)),
        `${port}`,
      ).toEqual([]);
    }
    expect(rules.filter((r) => exposesPortOutsideGroup(r, 6443)).map((r) => r.key)).toEqual([
      'api-from-0.0.0.0-0',
    ]);
    expect(new Set(rules.map((r) => r.key)).size).toBe(rules.length);
  });
});
