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
import { configsToServe } from '../../src/workflows/ignition-phase.js';
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
