/** Leader election over the in-memory API: clocks that disagree, renew deadlines, release on stop. */
import { describe, expect, it } from 'vitest';
import { LEASE_NAME, LeaderElector } from '../../src/housekeeper/leader.js';
import type { LeaseObject } from '../../src/housekeeper/types.js';
import { MemoryKube } from '../helpers/memory-kube.js';

const NS = 'housekeeper-system';

function setup() {
  let clock = Date.parse('2026-03-01T12:00:00Z');
  const now = () => new Date(clock);
  const kube = new MemoryKube(now);
  const elector = (identity: string) =>
    new LeaderElector({ kube, namespace: NS, identity, leaseDurationSeconds: 30, now });
  /** Another operator whose clock is an hour behind ours renews the lease. */
  const renewSkewed = (holder: string) => {
    const skewed = new Date(clock - 3_600_000).toISOString();
    const existing = kube.leases.get(`${NS}/${LEASE_NAME}`);
    const lease: LeaseObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: LEASE_NAME,
        namespace: NS,
        resourceVersion: String(Number(existing?.metadata.resourceVersion ?? 0) + 1),
      },
      spec: { holderIdentity: holder, leaseDurationSeconds: 30, acquireTime: skewed, renewTime: skewed },
    };
    kube.leases.set(`${NS}/${LEASE_NAME}`, lease);
  };
  const holder = () => kube.leases.get(`${NS}/${LEASE_NAME}`)?.spec.holderIdentity;
  return { kube, elector, renewSkewed, holder, advance: (ms: number) => (clock += ms) };
}

describe('leader election', () => {
  it('does not take over a live leader whose clock is behind ours', async () => {
    const s = setup();
    s.renewSkewed('op-a');
    const b = s.elector('op-b');
    expect(await b.tryLead()).toBe(false);
    for (let i = 0; i < 5; i++) {
      s.advance(10_000);
      s.renewSkewed('op-a'); // op-a keeps renewing, its renewTime always an hour "old"
      expect(await b.tryLead()).toBe(false);
    }
    expect(s.holder()).toBe('op-a');
  });

  it('takes over once the record has not changed for the lease duration, by its own clock', async () => {
    const s = setup();
    s.renewSkewed('op-a');
    const b = s.elector('op-b');
    expect(await b.tryLead()).toBe(false);
    s.advance(29_000);
    expect(await b.tryLead()).toBe(false);
    s.advance(2_000);
    expect(await b.tryLead()).toBe(true);
    expect(s.holder()).toBe('op-b');
  });

  it('stops acting when it could not renew within the renew deadline', async () => {
    const s = setup();
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
    const s = setup();
    const a = s.elector('op-a');
    const b = s.elector('op-b');
    expect(await a.tryLead()).toBe(true);
    expect(await b.tryLead()).toBe(false);
    await a.release();
    expect(s.holder()).toBe('');
    expect(await b.tryLead()).toBe(true);
    expect(s.holder()).toBe('op-b');
  });
});
