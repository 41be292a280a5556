import { describe, expect, it } from 'vitest';
import {
  nodeAtTarget,
  nodeViewOf,
  planRollout,
  updateKey,
  workersAtOnce,
  type NodeView,
} from '../../src/housekeeper/planner.js';
import {
  CONTROL_PLANE_VERSION_ANNOTATION,
  OS_IMAGE_ANNOTATION,
  PROGRESS_ANNOTATION,
  TARGET_ANNOTATION,
  type NodeObject,
  type NodeProgress,
  type NodeTarget,
  type UpdateObject,
  type UpdateSpec,
  type UpdateStatus,
} from '../../src/housekeeper/types.js';

const OLD_K8S = 'v1.29.6';
const NEW_K8S = 'v1.30.4';
const OLD_OS = 'registry.example.test/nestos:24.03-k8s-1.29.6';
const NEW_OS = 'registry.example.test/nestos:24.03-k8s-1.30.4';
const NOW = '2025-06-03T14:12:00.000Z';
const LATER = '2025-06-03T14:30:00.000Z';

function update(spec: UpdateSpec, generation = 1, status?: UpdateStatus, name = 'to-1.30'): UpdateObject {
  const u: UpdateObject = {
    apiVersion: 'housekeeper.io/v1alpha1',
    kind: 'Update',
    metadata: { name, namespace: 'housekeeper-system', generation },
    spec,
  };
  if (status) u.status = status;
  return u;
}

const KEY = 'housekeeper-system/to-1.30@1';
const BOTH: UpdateSpec = { kubeVersion: NEW_K8S, osImageURL: NEW_OS };

/** A healthy node on the old versions; `at` puts it on the new ones. */
function node(name: string, extra: Partial<NodeView> & { at?: boolean } = {}): NodeView {
  const { at, ...rest } = extra;
  const role = name.startsWith('cp') ? 'control-plane' : 'worker';
  return {
    name,
    role,
    ready: true,
    unschedulable: false,
    kubeletVersion: at ? NEW_K8S : OLD_K8S,
    controlPlaneVersion: role === 'worker' ? '' : at ? NEW_K8S : OLD_K8S,
    osImage: at ? NEW_OS : OLD_OS,
    ...rest,
  };
}

function target(extra: Partial<NodeTarget> = {}): NodeTarget {
  return {
    key: KEY,
    kubeVersion: NEW_K8S,
    osImageURL: NEW_OS,
    firstControlPlane: false,
    evictPodForce: false,
    drainTimeoutSeconds: 300,
    ...extra,
  };
}

function progress(phase: NodeProgress['phase'], extra: Partial<NodeProgress> = {}): NodeProgress {
  return {
    key: KEY,
    phase,
    startedAt: '2025-06-03T14:00:00Z',
    lastTransitionTime: '2025-06-03T14:05:00Z',
    ...extra,
  };
}

const plan = (u: UpdateObject, nodes: NodeView[], kubeSystemHealthy = true, now = NOW) =>
  planRollout({ update: u, nodes, kubeSystemHealthy, now });
const selected = (d: ReturnType<typeof plan>) => d.select.map((s) => s.node);
const condition = (status: UpdateStatus, type: string) => status.conditions?.find((c) => c.type === type);

describe('nodeViewOf', () => {
  const base: NodeObject = {
    metadata: {
      name: 'cp-1',
      labels: { 'node-role.kubernetes.io/control-plane': '' },
      annotations: { [OS_IMAGE_ANNOTATION]: NEW_OS, [CONTROL_PLANE_VERSION_ANNOTATION]: OLD_K8S },
    },
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      nodeInfo: { kubeletVersion: NEW_K8S },
    },
  };

  it('reads role, readiness, cordon, versions and the reported OS image', () => {
    expect(nodeViewOf(base)).toEqual({
      name: 'cp-1',
      role: 'control-plane',
      ready: true,
      unschedulable: true,
      kubeletVersion: NEW_K8S,
      controlPlaneVersion: OLD_K8S,
      osImage: NEW_OS,
    });
  });

  it('treats a node without a control-plane label as a worker, and a missing Ready condition as not ready', () => {
    const view = nodeViewOf({ metadata: { name: 'w-1' } });
    expect(view).toMatchObject({ role: 'worker', ready: false, unschedulable: false, kubeletVersion: '' });
    expect(view.osImage).toBe('');
  });

  it('recognises the legacy master label as a control plane', () => {
    const view = nodeViewOf({ metadata: { name: 'm', labels: { 'node-role.kubernetes.io/master': '' } } });
    expect(view.role).toBe('control-plane');
  });

  it('parses well-formed target and progress annotations, keeping only the contract fields', () => {
    const t = { ...target(), extra: 1 };
    const p = { ...progress('draining'), cordonedByAgent: true, junk: 'x' };
    const view = nodeViewOf({
      metadata: {
        name: 'w',
        annotations: { [TARGET_ANNOTATION]: JSON.stringify(t), [PROGRESS_ANNOTATION]: JSON.stringify(p) },
      },
    });
    expect(view.target).toEqual(target());
    expect(view.progress).toEqual({ ...progress('draining'), cordonedByAgent: true });
  });

  it.each([
    ['not JSON', '{oops'],
    ['a JSON array', '[]'],
    ['a target without a key', JSON.stringify({ ...target(), key: undefined })],
    ['a progress with an unknown phase', JSON.stringify(progress('exploding' as never))],
  ])('treats %s as an absent annotation', (_label, text) => {
    const view = nodeViewOf({
      metadata: { name: 'w', annotations: { [TARGET_ANNOTATION]: text, [PROGRESS_ANNOTATION]: text } },
    });
    expect(view.target).toBeUndefined();
    expect(view.progress).toBeUndefined();
  });
});

describe('updateKey and nodeAtTarget', () => {
  it('keys an Update by namespace, name and generation (0 when unset)', () => {
    expect(updateKey(update(BOTH, 7))).toBe('housekeeper-system/to-1.30@7');
    const u = update(BOTH);
    delete u.metadata.generation;
    expect(updateKey(u)).toBe('housekeeper-system/to-1.30@0');
  });

  it('compares only the versions the spec sets', () => {
    const n = node('w', { kubeletVersion: NEW_K8S });
    expect(nodeAtTarget(n, { kubeVersion: NEW_K8S })).toBe(true);
    expect(nodeAtTarget(n, BOTH)).toBe(false);
    expect(nodeAtTarget(node('w', { osImage: NEW_OS }), { osImageURL: NEW_OS })).toBe(true);
  });
});

describe('planRollout: order and concurrency', () => {
  it('hands out the first control plane by name, alone, with the kubeadm apply step and spec defaults', () => {
    const d = plan(update(BOTH), [node('w-1'), node('cp-2'), node('cp-1')]);
    expect(d.select).toEqual([
      {
        node: 'cp-1',
        target: target({ firstControlPlane: true }),
      },
    ]);
    expect(d.status.phase).toBe('Progressing');
  });

  it('passes evictPodForce and drainTimeoutSeconds from the spec into the target', () => {
    const d = plan(update({ ...BOTH, evictPodForce: true, drainTimeoutSeconds: 900 }), [node('w-1')]);
    expect(d.select[0]?.target).toMatchObject({ evictPodForce: true, drainTimeoutSeconds: 900 });
  });

  it('starts no second control plane while one is in progress, and no worker at all', () => {
    const d = plan(update({ ...BOTH, maxUnavailable: 5 }), [
      node('cp-1', { target: target({ firstControlPlane: true }), progress: progress('rebooting') }),
      node('cp-2'),
      node('w-1'),
    ]);
    expect(d.select).toEqual([]);
    expect(condition(d.status, 'Progressing')).toMatchObject({ status: 'True', reason: 'NodesUpgrading' });
  });

  it('moves on to the next control plane, without apply, once the first is done and healthy', () => {
    const d = plan(update(BOTH), [
      node('cp-1', { at: true, target: target({ firstControlPlane: true }), progress: progress('done') }),
      node('cp-2'),
      node('w-1'),
    ]);
    expect(d.select).toEqual([
      { node: 'cp-2', target: expect.objectContaining({ firstControlPlane: false }) },
    ]);
  });

  it('starts workers by name up to maxUnavailable, counting those already in progress', () => {
    const u = update({ ...BOTH, maxUnavailable: 3 });
    const d = plan(u, [
      node('cp-1', { at: true }),
      node('w-4'),
      node('w-2'),
      node('w-1', { target: target() }),
      node('w-3'),
    ]);
    expect(selected(d)).toEqual(['w-2', 'w-3']);
    expect(d.select.every((s) => !s.target.firstControlPlane)).toBe(true);
  });

  it.each([
    ['unset', undefined],
    ['zero', 0],
  ])('upgrades one worker at a time when maxUnavailable is %s', (_label, maxUnavailable) => {
    const d = plan(update({ ...BOTH, maxUnavailable }), [node('w-1'), node('w-2')]);
    expect(selected(d)).toEqual(['w-1']);
  });
});

describe('planRollout: the kubeadm apply step (firstControlPlane)', () => {
  it('is not handed out when every control plane already runs the target Kubernetes', () => {
    const d = plan(update(BOTH), [
      node('cp-1', { kubeletVersion: NEW_K8S, controlPlaneVersion: NEW_K8S }),
      node('cp-2', { kubeletVersion: NEW_K8S, controlPlaneVersion: NEW_K8S }),
    ]);
    expect(d.select).toEqual([
      { node: 'cp-1', target: expect.objectContaining({ firstControlPlane: false }) },
    ]);
  });

  it('goes to a control plane whose kubelet is new (from the OS image) but whose static pods are not', () => {
    const d = plan(update({ kubeVersion: NEW_K8S }), [
      node('cp-1', { at: true, controlPlaneVersion: OLD_K8S }),
      node('w-1', { at: true }),
    ]);
    expect(d.select).toEqual([
      { node: 'cp-1', target: expect.objectContaining({ firstControlPlane: true }) },
    ]);
    expect(d.status.phase).toBe('Progressing');
  });

  it("does not count a node at target as done while it is still under its agent's cordon", () => {
    const failedBefore = progress('failed', { key: 'housekeeper-system/earlier@1', cordonedByAgent: true });
    const d = plan(update({ kubeVersion: NEW_K8S }), [
      node('cp-1', { at: true }),
      node('w-1', { at: true, unschedulable: true, progress: failedBefore }),
    ]);
    expect(d.status.phase).not.toBe('Completed');
    expect(selected(d)).toEqual(['w-1']);
  });

  it('never completes while a control plane whose kubeadm upgrade failed still runs old static pods', () => {
    // The node failed after the reboot into the new image: kubelet new, static pods old.
    const failedBefore = progress('failed', { key: 'housekeeper-system/to-1.30@1', cordonedByAgent: true });
    const retry = update({ kubeVersion: NEW_K8S }, 1, undefined, 'retry');
    const d = plan(retry, [
      node('cp-1', { at: true, controlPlaneVersion: OLD_K8S, unschedulable: true, progress: failedBefore }),
    ]);
    expect(d.status.phase).not.toBe('Completed');
    expect(d.status.nodes?.[0]?.phase).not.toBe('done');
    expect(selected(d)).toEqual(['cp-1']);
  });

  it('goes to the first control plane whose Kubernetes actually changes', () => {
    // cp-1 already ran the target Kubernetes, so it was handed out for its OS only, without apply.
    const d = plan(update(BOTH), [
      node('cp-1', { at: true, target: target(), progress: progress('done') }),
      node('cp-2'),
    ]);
    expect(d.select).toEqual([
      { node: 'cp-2', target: expect.objectContaining({ firstControlPlane: true }) },
    ]);
  });

  it('is never part of an OS-only Update', () => {
    const u = update({ osImageURL: NEW_OS });
    expect(plan(u, [node('cp-1')]).select[0]?.target.firstControlPlane).toBe(false);
  });

  it('is remembered through the annotations, so a restarted operator without status never hands out a second', () => {
    // cp-1 was given apply, finished, and then someone's kubelet report lagged: still the holder.
    const nodes = [
      node('cp-1', { at: true, target: target({ firstControlPlane: true }), progress: progress('done') }),
      node('cp-2'),
    ];
    expect(plan(update(BOTH), nodes).select[0]?.target.firstControlPlane).toBe(false);
  });

  it('survives a generation bump (pause, resume) with the same kubeVersion, but not a new kubeVersion', () => {
    const gen1 = target({ firstControlPlane: true });
    const nodes = [node('cp-1', { at: true, target: gen1, progress: progress('done') }), node('cp-2')];
    expect(plan(update(BOTH, 3), nodes).select[0]?.target.firstControlPlane).toBe(false);
    const newer = { ...BOTH, kubeVersion: 'v1.31.0' };
    const d = plan(
      update(newer, 3),
      nodes.map((n) => ({ ...n, kubeletVersion: NEW_K8S })),
    );
    expect(d.select[0]).toMatchObject({ node: 'cp-1', target: { firstControlPlane: true } });
  });

  it('stays with its holder when that node is handed out again after failing in an earlier generation', () => {
    // Repaired, its progress annotation removed by the administrator: handed out again.
    const nodes = [node('cp-1', { target: target({ firstControlPlane: true }) }), node('cp-2')];
    expect(plan(update(BOTH, 2), nodes).select).toEqual([
      {
        node: 'cp-1',
        target: expect.objectContaining({ key: 'housekeeper-system/to-1.30@2', firstControlPlane: true }),
      },
    ]);
  });
});

describe('planRollout: failed nodes and spec edits', () => {
  it('keeps a node failed when an edit leaves the versions alone (pause, maxUnavailable, drain settings)', () => {
    const nodes = [
      node('cp-1', { target: target(), progress: progress('failed', { lastError: 'boom' }) }),
      node('cp-2'),
    ];
    const d = plan(update({ ...BOTH, maxUnavailable: 3, drainTimeoutSeconds: 900 }, 2), nodes);
    expect(d.select).toEqual([]);
    expect(d.status.phase).toBe('Failed');
    expect(d.status.nodes?.[0]).toMatchObject({ name: 'cp-1', phase: 'failed', lastError: 'boom' });
  });

  it('hands a failed node out again when the edit changes what it asks for', () => {
    const nodes = [node('cp-1', { target: target(), progress: progress('failed') }), node('cp-2')];
    const d = plan(update({ ...BOTH, osImageURL: `${NEW_OS}-fixed` }, 2), nodes);
    expect(selected(d)).toEqual(['cp-1']);
  });

  it('replaces a target of an older generation that its agent has not started', () => {
    const nodes = [node('cp-1', { target: target() }), node('cp-2')];
    const d = plan(update({ ...BOTH, osImageURL: `${NEW_OS}-fixed` }, 2), nodes);
    expect(d.select).toEqual([
      { node: 'cp-1', target: expect.objectContaining({ key: 'housekeeper-system/to-1.30@2' }) },
    ]);
  });
});

describe('planRollout: a node that never comes back', () => {
  it('stops the rollout on a node whose agent went silent past the phase deadline, and names it', () => {
    const rebooting = progress('rebooting', { lastTransitionTime: '2025-06-03T13:40:00Z' }); // 32 min before NOW
    const d = plan(update(BOTH), [node('cp-1', { target: target(), progress: rebooting }), node('cp-2')]);
    expect(d.select).toEqual([]);
    expect(d.status.phase).toBe('Failed');
    expect(d.status.nodes?.[0]).toMatchObject({ name: 'cp-1', phase: 'failed' });
    expect(d.status.nodes?.[0]?.lastError).toMatch(
      /^no word from its agent: rebooting since .*rpm-ostree rollback/,
    );
  });

  it('waits while the phase is within its deadline', () => {
    const rebooting = progress('rebooting', { lastTransitionTime: '2025-06-03T14:00:00Z' });
    const d = plan(update(BOTH), [node('cp-1', { target: target(), progress: rebooting }), node('cp-2')]);
    expect(d.status.phase).toBe('Progressing');
  });
});

describe('planRollout: maxUnavailable as a percentage', () => {
  it('takes a percentage of the workers, rounded down, at least one', () => {
    const workers = ['w-1', 'w-2', 'w-3', 'w-4', 'w-5', 'w-6', 'w-7', 'w-8'].map((n) => node(n));
    const nodes = [node('cp-1', { at: true }), ...workers];
    expect(selected(plan(update({ ...BOTH, maxUnavailable: '25%' }), nodes))).toEqual(['w-1', 'w-2']);
    expect(selected(plan(update({ ...BOTH, maxUnavailable: '10%' }), nodes))).toEqual(['w-1']);
    expect(workersAtOnce('50%', 3)).toBe(1);
    expect(workersAtOnce(3, 10)).toBe(3);
    expect(workersAtOnce(undefined, 10)).toBe(1);
  });
});

describe('planRollout: maintenance windows', () => {
  // NOW is Tuesday 2025-06-03 14:12 UTC.
  it('starts no node outside its windows and says so; nodes in progress go on', () => {
    const windows = [{ days: ['Sat' as const, 'Sun' as const], start: '01:00', end: '05:00' }];
    const d = plan(update({ ...BOTH, maintenanceWindows: windows }), [node('cp-1'), node('w-1')]);
    expect(d.select).toEqual([]);
    expect(condition(d.status, 'Progressing')).toMatchObject({ reason: 'OutsideMaintenanceWindow' });
    expect(condition(d.status, 'Progressing')?.message).toContain('Sat,Sun 01:00-05:00 UTC');
  });

  it('starts nodes inside a window, including one that runs past midnight', () => {
    const today = [{ days: ['Tue' as const], start: '14:00', end: '15:00' }];
    expect(selected(plan(update({ ...BOTH, maintenanceWindows: today }), [node('cp-1')]))).toEqual(['cp-1']);
    const overnight = [{ days: ['Mon' as const], start: '22:00', end: '06:00' }];
    const earlyTuesday = '2025-06-03T05:30:00.000Z';
    expect(
      selected(plan(update({ ...BOTH, maintenanceWindows: overnight }), [node('cp-1')], true, earlyTuesday)),
    ).toEqual(['cp-1']);
    expect(selected(plan(update({ ...BOTH, maintenanceWindows: overnight }), [node('cp-1')]))).toEqual([]);
  });
});

describe('planRollout: etcd quorum', () => {
  it('warns that two control planes lose etcd quorum during each control-plane upgrade', () => {
    const two = plan(update(BOTH), [node('cp-1'), node('cp-2'), node('w-1')]);
    expect(condition(two.status, 'EtcdQuorumAtRisk')).toMatchObject({
      status: 'True',
      reason: 'TwoEtcdMembers',
    });
    const three = plan(update(BOTH), [node('cp-1'), node('cp-2'), node('cp-3')]);
    expect(condition(three.status, 'EtcdQuorumAtRisk')).toBeUndefined();
  });
});

describe('planRollout: nodes already at target, completion', () => {
  it('marks nodes already at target done and never hands them out', () => {
    const d = plan(update(BOTH), [node('cp-1', { at: true }), node('w-1', { at: true }), node('w-2')]);
    expect(selected(d)).toEqual(['w-2']);
    expect(d.status.nodes?.slice(0, 2)).toEqual([
      { name: 'cp-1', role: 'control-plane', phase: 'done', message: 'already at target' },
      { name: 'w-1', role: 'worker', phase: 'done', message: 'already at target' },
    ]);
  });

  it('completes when every node is at target, keeping an existing completedAt', () => {
    const nodes = [
      node('cp-1', { at: true }),
      node('w-1', { at: true, target: target(), progress: progress('done') }),
    ];
    const d = plan(update(BOTH), nodes);
    expect(d.select).toEqual([]);
    expect(d.status).toMatchObject({ phase: 'Completed', completedAt: NOW, observedGeneration: 1 });
    expect(condition(d.status, 'Complete')).toMatchObject({ status: 'True', reason: 'Completed' });
    const again = plan(update(BOTH, 1, d.status), nodes, true, LATER);
    expect(again.status).toEqual(d.status);
  });

  it('does not complete while a node reports done but not yet the target versions', () => {
    const d = plan(update(BOTH), [node('w-1', { target: target(), progress: progress('done') })]);
    expect(d.status.phase).toBe('Progressing');
    expect(condition(d.status, 'Progressing')).toMatchObject({ reason: 'WaitingForHealth' });
    expect(condition(d.status, 'Progressing')?.message).toContain(
      'w-1 does not report the target versions yet',
    );
  });

  it('reports an empty node list as Pending rather than Completed', () => {
    expect(plan(update(BOTH), []).status.phase).toBe('Pending');
  });
});

describe('planRollout: health gate', () => {
  const finished = (name: string, extra: Partial<NodeView> = {}) =>
    node(name, {
      at: true,
      target: target(),
      progress: progress('done', { cordonedByAgent: true }),
      ...extra,
    });

  it.each([
    ['a finished node is not Ready', [finished('w-1', { ready: false })], true, 'w-1 is not Ready'],
    [
      'a finished node is still cordoned by its agent',
      [finished('w-1', { unschedulable: true })],
      true,
      'w-1 is still cordoned',
    ],
    ['system pods are not healthy', [finished('w-1')], false, 'system pods are not healthy'],
  ])('holds the next node back when %s, and says why', (_label, done, healthy, why) => {
    const d = plan(update(BOTH), [...done, node('w-2')], healthy);
    expect(d.select).toEqual([]);
    expect(d.status.phase).toBe('Progressing');
    const c = condition(d.status, 'Progressing');
    expect(c).toMatchObject({ type: 'Progressing', status: 'True', reason: 'WaitingForHealth' });
    expect(c?.message).toContain(why);
  });

  it('leaves an administrator cordon alone: it does not hold the rollout', () => {
    const d = plan(update(BOTH), [
      finished('w-1', { unschedulable: true, progress: progress('done') }),
      node('w-2'),
    ]);
    expect(selected(d)).toEqual(['w-2']);
  });

  it('keeps a not-yet-started rollout Pending while kube-system is unhealthy', () => {
    const d = plan(update(BOTH), [node('cp-1')], false);
    expect(d.select).toEqual([]);
    expect(d.status.phase).toBe('Pending');
    expect(condition(d.status, 'Progressing')?.message).toContain('system pods are not healthy');
  });
});

describe('planRollout: pause and failure', () => {
  it('lets nodes in progress finish while paused, then reports Paused', () => {
    const u = update({ ...BOTH, paused: true });
    const busy = plan(u, [node('w-1', { target: target(), progress: progress('draining') }), node('w-2')]);
    expect(busy.select).toEqual([]);
    expect(busy.status.phase).toBe('Progressing');
    expect(condition(busy.status, 'Progressing')).toMatchObject({ status: 'True', reason: 'Paused' });

    const idle = plan(u, [
      node('w-1', { at: true, target: target(), progress: progress('done') }),
      node('w-2'),
    ]);
    expect(idle.select).toEqual([]);
    expect(idle.status.phase).toBe('Paused');
    expect(condition(idle.status, 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  it('stops the rollout on a failed node, naming it and its error, and leaves the others to finish', () => {
    const d = plan(update({ ...BOTH, maxUnavailable: 3 }), [
      node('w-1', {
        target: target(),
        progress: progress('failed', { lastError: 'drain timed out: pdb/web blocks' }),
      }),
      node('w-2', { target: target(), progress: progress('upgrading-os') }),
      node('w-3'),
    ]);
    expect(d.select).toEqual([]);
    expect(d.status.phase).toBe('Failed');
    expect(condition(d.status, 'Failed')).toMatchObject({
      status: 'True',
      reason: 'NodeFailed',
      message: 'node w-1 failed: drain timed out: pdb/web blocks',
    });
    expect(condition(d.status, 'Progressing')).toMatchObject({ status: 'True', reason: 'NodeFailed' });
    expect(d.status.nodes?.map((n) => n.phase)).toEqual(['failed', 'upgrading-os', 'pending']);
  });

  it('fails an Update that names neither an OS image nor a Kubernetes version', () => {
    const d = plan(update({ maxUnavailable: 2 }), [node('w-1', { at: true })]);
    expect(d.select).toEqual([]);
    expect(d.status.phase).toBe('Failed');
    expect(condition(d.status, 'Failed')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(condition(d.status, 'Failed')?.message).toContain('set osImageURL, kubeVersion, or both');
  });
});

describe('planRollout: stale targets and progress', () => {
  it('treats finished work for an older generation or another Update as not started', () => {
    const old = { key: 'housekeeper-system/to-1.30@0' };
    const other = { key: 'housekeeper-system/another@4' };
    const d = plan(update({ ...BOTH, maxUnavailable: 3 }), [
      node('w-1', { target: target(old), progress: progress('done', old) }),
      node('w-2', { target: target(other), progress: progress('failed', other) }),
    ]);
    expect(selected(d)).toEqual(['w-1', 'w-2']);
    expect(d.select.every((s) => s.target.key === KEY)).toBe(true);
  });

  it('does not overwrite a target its agent is still working on, and counts that node as unavailable', () => {
    const old = { key: 'housekeeper-system/to-1.30@0' };
    const d = plan(update({ ...BOTH, maxUnavailable: 2 }), [
      node('w-1', { target: target(old), progress: progress('draining', old) }),
      node('w-2'),
      node('w-3'),
    ]);
    expect(selected(d)).toEqual(['w-2']);
    expect(d.status.nodes?.[0]).toMatchObject({
      phase: 'pending',
      message: expect.stringContaining('to-1.30@0'),
    });
  });
});

describe('planRollout: status bookkeeping', () => {
  it('lists every node, control planes first, with the phase and times its agent reported', () => {
    const p = progress('verifying', { message: 'waiting for kubelet', lastError: 'retrying' });
    const d = plan(update(BOTH), [
      node('w-1'),
      node('cp-2', { target: target(), progress: p }),
      node('cp-1', { at: true }),
    ]);
    expect(d.status.nodes).toEqual([
      { name: 'cp-1', role: 'control-plane', phase: 'done', message: 'already at target' },
      {
        name: 'cp-2',
        role: 'control-plane',
        phase: 'verifying',
        startedAt: p.startedAt,
        lastTransitionTime: p.lastTransitionTime,
        lastError: 'retrying',
        message: 'waiting for kubelet',
      },
      { name: 'w-1', role: 'worker', phase: 'pending', message: 'waiting for its turn' },
    ]);
  });

  it('sets startedAt when the first node is handed out and keeps it afterwards', () => {
    const first = plan(update(BOTH), [node('w-1'), node('w-2')]);
    expect(first.status).toMatchObject({ startedAt: NOW, observedGeneration: 1 });
    expect(first.status.nodes?.[0]).toMatchObject({ phase: 'pending', message: 'handed to its agent' });
    const next = plan(
      update(BOTH, 1, first.status),
      [node('w-1', { target: target() }), node('w-2')],
      true,
      LATER,
    );
    expect(next.status.startedAt).toBe(NOW);
  });

  it('recovers startedAt from the agents when the status was lost', () => {
    const d = plan(update(BOTH), [node('w-1', { target: target(), progress: progress('draining') })]);
    expect(d.status.startedAt).toBe('2025-06-03T14:00:00Z');
  });

  it('keeps a condition lastTransitionTime while its status holds, and moves it when the status changes', () => {
    const a = plan(update(BOTH), [node('w-1')]);
    const nodes = [
      node('w-1', {
        target: target(),
        progress: progress('draining', { lastTransitionTime: '2025-06-03T14:25:00Z' }),
      }),
    ];
    const b = plan(update(BOTH, 1, a.status), nodes, true, LATER);
    expect(condition(b.status, 'Progressing')?.lastTransitionTime).toBe(NOW);
    const c = plan(update(BOTH, 1, b.status), [node('w-1', { at: true })], true, LATER);
    expect(condition(c.status, 'Progressing')).toMatchObject({ status: 'False', lastTransitionTime: LATER });
    expect(condition(c.status, 'Complete')).toMatchObject({ status: 'True', lastTransitionTime: LATER });
    expect(condition(c.status, 'Failed')).toMatchObject({ status: 'False', lastTransitionTime: NOW });
  });
});

describe('planRollout: a whole rollout, restarted at every step', () => {
  const PHASES: NodeProgress['phase'][] = [
    'draining',
    'upgrading-os',
    'rebooting',
    'upgrading-kubernetes',
    'verifying',
    'done',
  ];

  function cluster(): NodeObject[] {
    const make = (name: string, cp: boolean): NodeObject => ({
      metadata: {
        name,
        labels: cp ? { 'node-role.kubernetes.io/control-plane': '' } : {},
        annotations: { [OS_IMAGE_ANNOTATION]: OLD_OS },
      },
      spec: {},
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: OLD_K8S } },
    });
    // Deliberately not in name order: the planner must sort.
    return [
      make('w-3', false),
      make('cp-2', true),
      make('w-1', false),
      make('cp-3', true),
      make('w-4', false),
      make('cp-1', true),
      make('w-2', false),
    ];
  }

  const annotations = (n: NodeObject) => (n.metadata.annotations ??= {});

  /** One agent step: the busy node with the smallest name moves one phase on, as its agent would report. */
  function agentStep(nodes: NodeObject[], at: string): void {
    const busy = nodes
      .map((n) => ({ n, v: nodeViewOf(n) }))
      .filter(({ v }) => v.target && !(v.progress?.key === v.target.key && v.progress.phase === 'done'))
      .sort((a, b) => (a.v.name < b.v.name ? -1 : 1))[0];
    if (!busy) return;
    const { n, v } = busy;
    const current = v.progress?.key === v.target!.key ? v.progress : undefined;
    const phase = current ? PHASES[PHASES.indexOf(current.phase) + 1]! : 'draining';
    const next: NodeProgress = {
      key: v.target!.key,
      phase,
      startedAt: current?.startedAt ?? at,
      lastTransitionTime: at,
      cordonedByAgent: true,
    };
    n.spec!.unschedulable = phase !== 'done';
    n.status!.conditions = [{ type: 'Ready', status: phase === 'rebooting' ? 'False' : 'True' }];
    if (phase === 'done') {
      next.finishedAt = at;
      n.status!.nodeInfo!.kubeletVersion = v.target!.kubeVersion!;
      if (v.role === 'control-plane')
        annotations(n)[CONTROL_PLANE_VERSION_ANNOTATION] = v.target!.kubeVersion!;
      annotations(n)[OS_IMAGE_ANNOTATION] = v.target!.osImageURL!;
    }
    annotations(n)[PROGRESS_ANNOTATION] = JSON.stringify(next);
  }

  it('upgrades 3 control planes then 4 workers two at a time, deciding the same with or without its memory', () => {
    const nodes = cluster();
    const spec: UpdateSpec = { ...BOTH, maxUnavailable: 2 };
    let status: UpdateStatus | undefined;
    const batches: string[][] = [];
    const firsts: string[] = [];
    for (let step = 0; step < 200 && status?.phase !== 'Completed'; step++) {
      const now = new Date(Date.parse(NOW) + step * 60_000).toISOString();
      const views = nodes.map(nodeViewOf);
      const decision = plan(update(spec, 1, status), views, true, now);
      // An operator restarted without the status hands out exactly the same nodes, and replanning the
      // unchanged state later gives an identical decision (so the operator writes no status churn).
      expect(plan(update(spec), views, true, now).select).toEqual(decision.select);
      const later = new Date(Date.parse(now) + 30_000).toISOString();
      expect(plan(update(spec, 1, decision.status), views, true, later)).toEqual(decision);

      if (decision.select.length > 0) batches.push(selected(decision));
      for (const { node: name, target: t } of decision.select) {
        if (t.firstControlPlane) firsts.push(name);
        annotations(nodes.find((n) => n.metadata.name === name)!)[TARGET_ANNOTATION] = JSON.stringify(t);
      }
      status = decision.status;

      // Safety invariants, checked on what the agents see after the operator wrote its targets.
      const inFlight = nodes.map(nodeViewOf).filter((v) => v.target && v.progress?.phase !== 'done');
      expect(inFlight.length).toBeLessThanOrEqual(2);
      if (inFlight.some((v) => v.role === 'control-plane')) expect(inFlight).toHaveLength(1);
      agentStep(nodes, now);
    }
    expect(status?.phase).toBe('Completed');
    expect(batches).toEqual([['cp-1'], ['cp-2'], ['cp-3'], ['w-1', 'w-2'], ['w-3'], ['w-4']]);
    expect(firsts).toEqual(['cp-1']);
    expect(status?.nodes?.map((n) => `${n.name}:${n.phase}`)).toEqual([
      'cp-1:done',
      'cp-2:done',
      'cp-3:done',
      'w-1:done',
      'w-2:done',
      'w-3:done',
      'w-4:done',
    ]);
    expect(status?.startedAt).toBe(NOW);
  });

  it('hands out only the rest of a batch when the operator died after writing part of it', () => {
    const u = update({ ...BOTH, maxUnavailable: 2 });
    const views = [node('cp-1', { at: true }), node('w-1'), node('w-2'), node('w-3')];
    const first = plan(u, views);
    expect(selected(first)).toEqual(['w-1', 'w-2']);
    views[1] = { ...views[1]!, target: first.select[0]!.target };
    expect(plan(u, views).select).toEqual([first.select[1]]);
  });
});
