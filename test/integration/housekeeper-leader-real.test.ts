// Leader election through a real coordination.k8s.io Lease (test/helpers/real-api.ts's etcd and
// kube-apiserver): the real server's optimistic concurrency decides who wrote first, the electors' clocks
// are injected (they disagree with the holder's renewTime on purpose). Each test uses a namespace of its
// own. The operator's client authenticates with a service-account token the real server issued.
import { expect, it } from 'vitest';
import { LEASE_NAME, LeaderElector } from '../../src/housekeeper/leader.js';
import type { LeaseObject } from '../../src/housekeeper/types.js';
import { describeReal } from '../helpers/real.js';
import { realApiRequirement } from '../helpers/real-api.js';
import { realSuite } from '../helpers/real-housekeeper.js';

const OPTIONS = { controllerManager: false, scheduler: false, kwok: false } as const;

describeReal('Lease leader election against the real API server', realApiRequirement(OPTIONS), () => {
  const suite = realSuite(OPTIONS);
  let seq = 0;

  async function setup() {
    const cluster = suite.real;
    const ns = `leader-${++seq}`;
    await cluster.api('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    const kube = suite.adminKube();
    let clock = Date.parse('2026-03-01T12:00:00Z');
    const now = () => new Date(clock);
    const elector = (identity: string) =>
      new LeaderElector({ kube, namespace: ns, identity, leaseDurationSeconds: 30, now });
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${LEASE_NAME}`;
    /** Another operator whose clock is an hour behind ours renews the lease (server-side apply). */
    const renewSkewed = async (holder: string) => {
      const skewed = new Date(clock - 3_600_000).toISOString().replace(/Z$/, '000Z');
      await cluster.api(
        'PATCH',
        `${leasePath}?fieldManager=other-operator&force=true`,
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: LEASE_NAME, namespace: ns },
          spec: { holderIdentity: holder, leaseDurationSeconds: 30, acquireTime: skewed, renewTime: skewed },
        },
        'application/apply-patch+yaml',
      );
    };
    const holder = async () =>
      ((await cluster.api('GET', leasePath)) as LeaseObject).spec.holderIdentity ?? '';
    return { kube, elector, renewSkewed, holder, advance: (ms: number) => (clock += ms) };
  }

  it('does not take over a live leader whose clock is behind ours', async () => {
    const s = await setup();
    await s.renewSkewed('op-a');
    const b = s.elector('op-b');
    expect(await b.tryLead()).toBe(false);
    for (let i = 0; i < 5; i++) {
      s.advance(10_000);
      await s.renewSkewed('op-a'); // op-a keeps renewing, its renewTime always an hour "old"
      expect(await b.tryLead()).toBe(false);
    }
    expect(await s.holder()).toBe('op-a');
  });

  it('takes over once the record has not changed for the lease duration, by its own clock', async () => {
    const s = await setup();
    await s.renewSkewed('op-a');
    const b = s.elector('op-b');
    expect(await b.tryLead()).toBe(false);
    s.advance(29_000);
    expect(await b.tryLead()).toBe(false);
    s.advance(2_000);
    expect(await b.tryLead()).toBe(true);
    expect(await s.holder()).toBe('op-b');
  });

  it('two contenders for a free lease: the real server lets exactly one win', async () => {
    const s = await setup();
    const results = await Promise.all(['op-a', 'op-b', 'op-c'].map((id) => s.elector(id).tryLead()));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(['op-a', 'op-b', 'op-c'][results.indexOf(true)]).toBe(await s.holder());
  });

  it('stops acting when it could not renew within the renew deadline', async () => {
    const s = await setup();
    const a = s.elector('op-a');
    expect(await a.tryLead()).toBe(true);
    s.kube.getLease = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    s.advance(10_000);
    await expect(a.tryLead()).rejects.toThrow('ECONNREFUSED');
    expect(a.leading()).toBe(true); // 10 s after the last renewal: within 2/3 of 30 s
    s.advance(11_000);
    expect(a.leading()).toBe(false);
  });

  it('releases the lease on stop, so the next operator leads at once', async () => {
    const s = await setup();
    const a = s.elector('op-a');
    const b = s.elector('op-b');
    expect(await a.tryLead()).toBe(true);
    expect(await b.tryLead()).toBe(false);
    await a.release();
    expect(await s.holder()).toBe('');
    expect(await b.tryLead()).toBe(true);
    expect(await s.holder()).toBe('op-b');
  });
});
