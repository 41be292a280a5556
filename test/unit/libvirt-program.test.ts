// The libvirt Pulumi program under pulumi.runtime.setMocks: the resource graph it registers for a
// 3 control-plane + 2 worker cluster, with the dynamic providers' serialized source.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCluster } from '../../src/plan/plan.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { validConfig } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  opts: { protect?: boolean; deleteBeforeReplace?: boolean };
}

const work = mkdtempSync(join(tmpdir(), 'nkd-libvirt-program-'));
const image = join(work, 'nestos.qcow2');
const registered: Registered[] = [];
let outputs: Record<string, unknown> = {};

const config = validConfig({ platform: { libvirt: { image, network: { cidr: '192.168.150.0/24' } } } });
const plan = planCluster(config);
const rendered = renderCluster({ plan, pki: FAKE_PKI, templates: loadTemplates() });

/** Resolves every Output inside a value (the program returns Outputs in plain objects). */
function settle<T>(value: unknown): Promise<T> {
  return new Promise((resolve) =>
    (pulumi.output(value) as pulumi.Output<unknown>).apply((v) => resolve(v as T)),
  );
}

beforeAll(async () => {
  writeFileSync(image, 'stand-in base image');
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const inputs = args.inputs as Record<string, unknown>;
        const outs: Record<string, unknown> = { ...inputs };
        // What the operations' create reports beyond the inputs.
        if (args.type.endsWith('Volume')) outs.path = `/pool/${String(inputs.name)}`;
        if (args.type.endsWith('BaseImageVolume')) outs.format = 'qcow2';
        return { id: `${args.name}-id`, state: outs };
      },
      call: (args) => args.inputs,
    },
    'nkd-demo',
    'demo',
    false,
  );
  const { libvirtProgram } = await import('../../providers/libvirt/program.js');
  const nodes = rendered.map((r) => ({ node: r.node, ignition: r.ignitionText }));
  // Inside a stack, as the engine runs inline programs; the stack transformation sees every
  // resource's options (protect, deleteBeforeReplace), which the mocks do not.
  outputs = (await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const opts = args.opts as Registered['opts'];
      registered.push({
        type: args.type,
        name: args.name,
        inputs: args.props as Record<string, unknown>,
        opts,
      });
      return undefined;
    });
    return settle(
      await libvirtProgram.run({ plan, platform: config.spec.platform.libvirt!, nodes, clusterDir: work }),
    );
  })) as Record<string, unknown>;
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const ofType = (suffix: string) =>
  registered.filter((r) => r.type === `pulumi-nodejs:dynamic/libvirt:${suffix}`);

describe('libvirt program (pulumi mocks)', () => {
  it('registers one pool, base image and network, and a disk, Ignition volume and domain per node', () => {
    expect(ofType('Pool').map((r) => r.name)).toEqual(['nkd-demo']);
    expect(ofType('BaseImageVolume')).toHaveLength(1);
    expect(ofType('Network').map((r) => r.name)).toEqual(['nkd-demo']);
    for (const kind of ['NodeVolume', 'IgnitionVolume', 'Domain']) expect(ofType(kind)).toHaveLength(5);
  });

  it('gives every node its planned address as a static DHCP lease with a stable MAC', async () => {
    const hosts =
      (await settle<{ name: string; ip: string; mac: string }[]>(ofType('Network')[0]!.inputs.hosts)) ?? [];
    expect(hosts.map((h) => [h.name, h.ip])).toEqual(plan.nodes.map((n) => [n.name, n.address]));
    for (const host of hosts) expect(host.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(ofType('Network')[0]!.inputs.cidr).toBe('192.168.150.0/24');
  });

  it('uploads each node\u2019s full Ignition config as a secret', async () => {
    const volumes = ofType('IgnitionVolume');
    for (const [i, r] of rendered.entries()) {
      const content = volumes[i]!.inputs.content;
      expect(pulumi.Output.isInstance(content)).toBe(true);
      expect(await pulumi.isSecret(content as pulumi.Output<string>)).toBe(true);
      expect(await settle(content)).toBe(r.ignitionText);
    }
  });

  it('hands each domain its own Ignition volume through fw_cfg, with the planned CPUs and memory', async () => {
    const { domainDefinition } = await import('../../providers/libvirt/definitions.js');
    for (const [i, node] of plan.nodes.entries()) {
      const domain = await settle<Record<string, unknown>>(ofType('Domain')[i]!.inputs);
      expect(domain).toMatchObject({ memoryMiB: node.memoryMiB, vcpus: node.cpus, type: 'kvm' });
      // A known path inside the cluster's pool, not the volume's output: an Ignition update must never
      // make a domain's inputs unknown (the engine would then plan a replacement).
      expect(domain.ignitionPath).toBe(
        `/var/lib/libvirt/images/nkd-demo/${String(ofType('IgnitionVolume')[i]!.inputs.name)}`,
      );
      expect(pulumi.Output.isInstance(ofType('Domain')[i]!.inputs.ignitionPath)).toBe(false);
      const xml = domainDefinition(domain as never);
      expect(xml).toMatch(
        new RegExp(`<entry name=["']opt/com.coreos/config["'] file=["']${domain.ignitionPath}["']`),
      );
    }
  });

  it('protects control-plane domains only, and deletes before replacing every fixed-name object', () => {
    const domains = ofType('Domain');
    expect(domains.map((d) => d.opts.protect ?? false)).toEqual(
      plan.nodes.map((n) => n.role === 'control-plane'),
    );
    for (const r of registered) expect(r.opts.deleteBeforeReplace).toBe(true);
  });

  it('serializes self-contained dynamic providers that name the operations module relative to nkd, not by where it is installed', async () => {
    const source = String(await settle(ofType('Domain')[0]!.inputs.__provider));
    expect(source).toContain('"providers/libvirt/operations.js"');
    expect(source).not.toContain('file://');
    expect(source).not.toContain(process.cwd());
    expect(source).toContain('"domainOperations"');
    expect(source).toContain('return import(url)');
    // Nothing of the test runner's module system may leak into what the engine will run.
    expect(source).not.toMatch(/__vite|__vi_/);
  });

  it('reports the API endpoint and every node with its provider id and console log', () => {
    expect(outputs.apiEndpoint).toBe('192.168.150.2:6443');
    const nodes = outputs.nodes as { name: string; providerId: string; consoleLog: string }[];
    expect(nodes.map((n) => n.name)).toEqual(plan.nodes.map((n) => n.name));
    for (const n of nodes) {
      expect(n.providerId).toMatch(/-id$/);
      expect(n.consoleLog).toMatch(/console\.log$/);
    }
  });
});
