// The cluster diff: a deployed plan against the desired one, in cluster terms.
import { describe, expect, it } from 'vitest';
import { diffPlans, formatDiff } from '../../src/plan/diff.js';
import { planCluster } from '../../src/plan/plan.js';
import { validConfig, type ConfigOverrides } from '../helpers/configs.js';

const plan = (o: ConfigOverrides = {}) => planCluster(validConfig(o));

describe('cluster diff', () => {
  it('a first deploy creates everything', () => {
    const d = diffPlans(undefined, plan());
    expect(d.firstDeploy).toBe(true);
    expect(formatDiff(d, 'demo')).toEqual([
      'Cluster demo is new: creates 3 control-plane and 2 worker node(s).',
    ]);
  });

  it('no change is "nothing to do"', () => {
    const d = diffPlans(plan(), plan());
    expect(d.unchanged).toBe(true);
    expect(formatDiff(d, 'demo')).toEqual([
      'Cluster demo: nothing to do, the deployed cluster matches the config.',
    ]);
  });

  it('more workers are added after the existing ones, whose names and addresses never move', () => {
    const before = plan({ workers: { count: 2 } });
    const after = plan({ workers: { count: 4 } });
    const d = diffPlans(before, after);
    expect(d.add.map((n) => n.name)).toEqual(['demo-worker-3', 'demo-worker-4']);
    expect(d.remove).toEqual([]);
    expect(d.forbidden).toEqual([]);
    for (const n of before.nodes) expect(after.nodes.find((m) => m.name === n.name)?.address).toBe(n.address);
  });

  it('fewer workers remove the highest-numbered ones', () => {
    const d = diffPlans(plan({ workers: { count: 4 } }), plan({ workers: { count: 2 } }));
    expect(d.remove.map((n) => n.name)).toEqual(['demo-worker-3', 'demo-worker-4']);
    expect(formatDiff(d, 'demo')).toContain(
      `  - remove worker demo-worker-4 (${d.remove[1]!.address}): cordoned and drained first`,
    );
  });

  it('settings fixed at creation are forbidden, naming the key; versions point at nkd upgrade', () => {
    const d = diffPlans(
      plan(),
      plan({ runtime: 'crio', kubernetes: { podSubnet: '10.250.0.0/16' }, version: 'v1.36.3' }),
    );
    expect(d.forbidden.map((f) => f.path)).toEqual([
      'spec.kubernetes.podSubnet',
      'spec.runtime',
      'spec.kubernetes.version',
    ]);
    expect(d.forbidden.find((f) => f.path === 'spec.kubernetes.version')?.why).toMatch(/nkd upgrade/);
  });

  it('an existing node never changes address: growing the control plane shifts the workers and is refused', () => {
    const d = diffPlans(plan({ controlPlane: { count: 3 } }), plan({ controlPlane: { count: 5 } }));
    expect(d.add.map((n) => n.name)).toContain('demo-cp-4');
    expect(
      d.forbidden.some((f) => f.path === 'node demo-worker-1' && /never changes its address/.test(f.why)),
    ).toBe(true);
  });

  it('explains what control-plane changes mean for etcd quorum', () => {
    const grow = diffPlans(
      plan({ controlPlane: { count: 1 }, workers: { count: 0 } }),
      plan({ controlPlane: { count: 3 }, workers: { count: 0 } }),
    );
    expect(grow.notes).toEqual([
      'control plane grows 1 → 3: the new members join etcd one at a time (quorum 1 → 2)',
    ]);
    const shrink = diffPlans(
      plan({ controlPlane: { count: 3 }, workers: { count: 0 } }),
      plan({ controlPlane: { count: 2 }, workers: { count: 0 } }),
    );
    expect(shrink.notes[0]).toMatch(/shrinks 3 → 2.*quorum 2 → 2.*tolerates 0 control-plane failure/);
    expect(shrink.notes[1]).toMatch(/prefer an odd number/);
  });

  it('resizes are reported, and a shrinking disk is refused', () => {
    const d = diffPlans(
      plan({ workers: { count: 1, cpus: 4, diskGiB: 50 } }),
      plan({ workers: { count: 1, cpus: 8, diskGiB: 40 } }),
    );
    expect(d.resize).toEqual([
      { name: 'demo-worker-1', role: 'worker', changes: ['cpus 4 → 8', 'disk 50 → 40 GiB'] },
    ]);
    expect(d.forbidden.map((f) => f.why)).toContain('a disk never shrinks');
  });
});

describe('live drift', async () => {
  const { liveDrift, formatDrift } = await import('../../src/workflows/live-drift.js');
  it('names nodes registered but not planned, planned but missing, and NotReady', () => {
    const deployed = plan({ controlPlane: { count: 1 }, workers: { count: 2 } });
    const drift = liveDrift(deployed, [
      { name: 'demo-cp-1', ready: true },
      { name: 'demo-worker-1', ready: false },
      { name: 'stray-1', ready: true },
    ]);
    expect(drift).toEqual({
      reachable: true,
      unplanned: ['stray-1'],
      missing: ['demo-worker-2'],
      notReady: ['demo-worker-1'],
    });
    expect(formatDrift(drift)).toEqual([
      'Live cluster:',
      '  ? registered but not planned by nkd: stray-1',
      '  ? planned but not registered: demo-worker-2',
      '  ? NotReady: demo-worker-1',
    ]);
  });
  it('an unreachable cluster is one line, not an error', () => {
    expect(
      formatDrift({
        reachable: false,
        error: 'connection refused',
        unplanned: [],
        missing: [],
        notReady: [],
      }),
    ).toEqual(['Live cluster not checked: connection refused']);
  });
});
