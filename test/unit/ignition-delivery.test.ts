import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { providerFor } from '../../providers/registry.js';
import { NkdError } from '../../src/errors.js';
import { planCluster } from '../../src/plan/plan.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { sha512Hex } from '../../src/render/pointer.js';
import { planPointerDelivery } from '../../src/workflows/ignition-delivery.js';
import { preflightProvisioning } from '../../src/workflows/provision.js';
import {
  configsToServe,
  nodeJoined,
  startDelivery,
  usesObjectStore,
} from '../../src/workflows/ignition-phase.js';
import { validConfig } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';

const work = mkdtempSync(join(tmpdir(), 'nkd-delivery-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function setup(advertise: string | undefined) {
  const openstack = {
    image: 'nestos',
    flavor: 'm1.large',
    externalNetwork: 'public',
    ...(advertise && { ignitionService: { advertise } }),
  };
  const config = validConfig({ platform: { openstack } });
  const plan = planCluster(config);
  const rendered = renderCluster({ plan, pki: FAKE_PKI, templates: loadTemplates() });
  return { platform: config.spec.platform.openstack, rendered };
}

describe('pointer delivery', () => {
  it('gives every node a pointer to its own config, pinned by hash, stable across runs', async () => {
    const { platform, rendered } = setup('203.0.113.10:22623');
    const dir = join(work, 'stable');
    const first = await planPointerDelivery(providerFor('openstack'), platform, rendered, dir);
    const second = await planPointerDelivery(providerFor('openstack'), platform, rendered, dir);
    expect(second.nodes.map((n) => n.pointer)).toEqual(first.nodes.map((n) => n.pointer));
    for (const [i, node] of first.nodes.entries()) {
      const pointer = JSON.parse(node.pointer!);
      const merge = pointer.ignition.config.merge[0];
      expect(merge.source).toBe(`https://203.0.113.10:22623/ignition/${rendered[i]!.node.name}`);
      expect(merge.verification.hash).toBe(`sha512-${sha512Hex(rendered[i]!.ignitionText)}`);
      expect(merge.httpHeaders).toEqual([
        { name: 'Authorization', value: `Bearer ${first.tokens[rendered[i]!.node.name]}` },
      ]);
    }
    expect(new Set(Object.values(first.tokens)).size).toBe(rendered.length);
    expect(statSync(join(dir, 'ignition-service', 'tokens.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses without an advertised address, naming the key to set', async () => {
    const { platform, rendered } = setup(undefined);
    await expect(
      planPointerDelivery(providerFor('openstack'), platform, rendered, join(work, 'none')),
    ).rejects.toThrow(NkdError);
    await expect(
      planPointerDelivery(providerFor('openstack'), platform, rendered, join(work, 'none')),
    ).rejects.toThrow(/spec\.platform\.openstack\.ignitionService\.advertise is not set/);
  });

  it('serves only nodes that never fetched: a later deploy never hands an existing node its keys again', async () => {
    const { platform, rendered } = setup('203.0.113.10:22623');
    const delivery = await planPointerDelivery(
      providerFor('openstack'),
      platform,
      rendered,
      join(work, 'later'),
    );
    const served = configsToServe(delivery.nodes, delivery.tokens, { 'demo-cp-1': '2026-01-01T00:00:00Z' });
    expect([...served.keys()]).toEqual(rendered.map((r) => r.node.name).filter((n) => n !== 'demo-cp-1'));
    const worker = rendered.find((r) => r.node.name === 'demo-worker-1')!;
    expect(served.get('demo-worker-1')).toEqual({
      body: worker.ignitionText,
      token: delivery.tokens['demo-worker-1'],
    });
  });

  it('listens on the advertised address by default, not on every interface', () => {
    const { platform } = setup('203.0.113.10:22623');
    expect(providerFor('openstack').ignitionService!(platform).listen).toBe('203.0.113.10:22623');
  });

  it('mints a new token for a node removed and added again under the same name', async () => {
    const dir = join(work, 'readd');
    const two = setup('203.0.113.10:22623');
    const first = await planPointerDelivery(providerFor('openstack'), two.platform, two.rendered, dir);
    const one = two.rendered.filter((r) => r.node.name !== 'demo-worker-2');
    const shrunk = await planPointerDelivery(providerFor('openstack'), two.platform, one, dir);
    expect(shrunk.tokens['demo-worker-2']).toBeUndefined();
    expect(shrunk.tokens['demo-worker-1']).toBe(first.tokens['demo-worker-1']);
    const again = await planPointerDelivery(providerFor('openstack'), two.platform, two.rendered, dir);
    expect(again.tokens['demo-worker-2']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(again.tokens['demo-worker-2']).not.toBe(first.tokens['demo-worker-2']);
    expect(again.tokens['demo-cp-1']).toBe(first.tokens['demo-cp-1']);
  });
});

describe('object-store delivery (ignitionDelivery: swift) in the deploy workflow', () => {
  function swiftContext(fetched: Record<string, string>) {
    const config = validConfig({
      platform: {
        openstack: {
          image: 'nestos',
          flavor: 'm1.large',
          externalNetwork: 'public',
          ignitionDelivery: 'swift',
        },
      },
    });
    const plan = planCluster(config);
    const rendered = renderCluster({ plan, pki: FAKE_PKI, templates: loadTemplates() });
    const root = mkdtempSync(join(work, 'swift-'));
    const lines: string[] = [];
    let saves = 0;
    const ctx = {
      prepared: { config, plan, rendered, paths: { root } },
      state: { ignitionFetched: { ...fetched } },
      outputs: undefined,
      info: (m: string) => lines.push(`info: ${m}`),
      warn: (m: string) => lines.push(`warn: ${m}`),
      saveState: () => void saves++,
      log: { debug: () => {} },
    };
    return { ctx, plan, rendered, lines, saves: () => saves };
  }

  it('lets deploy go ahead without an Ignition service address (callback mode refuses that)', () => {
    const { ctx } = swiftContext({});
    const planned = {
      config: ctx.prepared.config,
      plan: ctx.prepared.plan,
      warnings: [],
      templates: loadTemplates(),
    };
    expect(() => preflightProvisioning(planned)).not.toThrow();
    const callback = validConfig({
      platform: { openstack: { image: 'nestos', flavor: 'm1.large', externalNetwork: 'public' } },
    });
    expect(() =>
      preflightProvisioning({ ...planned, config: callback, plan: planCluster(callback) }),
    ).toThrow(/ignitionService\.advertise is not set/);
  });

  it('starts no Ignition service and hands the program the key, the expiry and the nodes to store', async () => {
    const { ctx, rendered, lines } = swiftContext({ 'demo-cp-1': '2026-12-07T10:00:00Z' });
    expect(usesObjectStore(ctx as never)).toBe(true);
    const before = Math.floor(Date.now() / 1000);
    const running = await startDelivery(ctx as never);
    expect(running.nodes.map((n) => [n.node.name, n.ignition, n.pointer])).toEqual(
      rendered.map((r) => [r.node.name, r.ignitionText, undefined]),
    );
    expect(running.objects!.store).toEqual(rendered.map((r) => r.node.name).filter((n) => n !== 'demo-cp-1'));
    expect(running.objects!.expires).toBeGreaterThanOrEqual(before + 60 * 60);
    expect(running.objects!.tempUrlKey).toMatch(/^[0-9a-f]{64}$/);
    expect(lines).toEqual([expect.stringMatching(/^info: Node configs go to the object store: 4 to store/)]);
    await running.stop();
  });

  it('records a joined node as having its config once, and says when its object stays until the next deploy', async () => {
    const { ctx, lines, saves } = swiftContext({});
    await Promise.all([nodeJoined(ctx as never, 'demo-worker-1'), nodeJoined(ctx as never, 'demo-worker-1')]);
    expect(Object.keys(ctx.state.ignitionFetched)).toEqual(['demo-worker-1']);
    expect(saves()).toBe(1);
    // No outputs yet (no ignitionStore): nothing to delete through, so the next deploy's Pulumi run does.
    expect(lines).toEqual([
      'warn: the config of demo-worker-1 stays in the object store until the next deploy',
    ]);
  });
});
