// `nkd upgrade`'s preflight and the object it sends, as pure functions.
import { describe, expect, it } from 'vitest';
import type { NodeSummary } from '../../src/cluster/types.js';
import type { UpdateObject } from '../../src/housekeeper/types.js';
import { currentUpdate, updateName, updateObject, upgradeRefusals } from '../../src/workflows/upgrade.js';

function node(name: string, kubeletVersion: string): NodeSummary {
  return { name, ready: true, readyStatus: 'True', kubeletVersion, osImage: 'NestOS', roles: [] };
}

function update(name: string, phase: string | undefined, created = '2026-11-22T10:00:00Z'): UpdateObject {
  return {
    apiVersion: 'housekeeper.io/v1alpha1',
    kind: 'Update',
    metadata: { name, namespace: 'housekeeper-system', creationTimestamp: created },
    spec: { kubeVersion: 'v1.36.2' },
    ...(phase ? { status: { phase: phase as never } } : {}),
  };
}

const nodes = [node('cp-1', 'v1.35.4'), node('w-1', 'v1.35.4')];

describe('upgrade preflight', () => {
  it('accepts one minor version up, and a patch upgrade', () => {
    expect(upgradeRefusals({ kubeVersion: 'v1.36.2' }, nodes, [])).toEqual([]);
    expect(upgradeRefusals({ kubeVersion: 'v1.35.9' }, nodes, [])).toEqual([]);
  });

  it('refuses a downgrade, naming the node', () => {
    expect(upgradeRefusals({ kubeVersion: 'v1.35.1' }, nodes, [])).toEqual([
      'cp-1 runs v1.35.4: v1.35.1 would be a downgrade',
      'w-1 runs v1.35.4: v1.35.1 would be a downgrade',
    ]);
  });

  it('refuses skipping a minor version, saying which one comes next', () => {
    const [first] = upgradeRefusals({ kubeVersion: 'v1.37.0' }, [node('cp-1', 'v1.35.4')], []);
    expect(first).toBe('cp-1 runs v1.35.4: Kubernetes upgrades one minor version at a time (next: v1.36.x)');
  });

  it('judges every node: a straggler left on an older minor blocks a two-minor jump for it', () => {
    const mixed = [node('cp-1', 'v1.36.2'), node('w-1', 'v1.35.4')];
    expect(upgradeRefusals({ kubeVersion: 'v1.37.0' }, mixed, [])).toEqual([
      'w-1 runs v1.35.4: Kubernetes upgrades one minor version at a time (next: v1.36.x)',
    ]);
  });

  it('refuses versions nkd does not support and malformed ones', () => {
    expect(upgradeRefusals({ kubeVersion: 'v1.40.0' }, nodes, [])[0]).toMatch(/not supported/);
    expect(upgradeRefusals({ kubeVersion: 'v1.34.9' }, nodes, [])[0]).toBe(
      '--kube-version v1.34.9 is not supported (upstream no longer maintains it): nkd deploys v1.35.0 to v1.37.x',
    );
    expect(upgradeRefusals({ kubeVersion: '1.31' }, nodes, [])[0]).toMatch(/must look like/);
  });

  it('refuses while another upgrade is unfinished, and explains a failed one', () => {
    expect(
      upgradeRefusals({ osImageURL: 'r/nestos:2' }, nodes, [update('upgrade-1', 'Progressing')]),
    ).toEqual(['Update upgrade-1 is Progressing; one upgrade at a time']);
    expect(upgradeRefusals({ osImageURL: 'r/nestos:2' }, nodes, [update('upgrade-1', 'Failed')])[0]).toMatch(
      /failed: fix the cause, then delete it/,
    );
    expect(upgradeRefusals({ osImageURL: 'r/nestos:2' }, nodes, [update('upgrade-1', 'Completed')])).toEqual(
      [],
    );
  });

  it('requires something to upgrade', () => {
    expect(upgradeRefusals({}, nodes, [])).toEqual([
      'nothing to upgrade: give --kube-version and/or --os-image',
    ]);
  });
});

describe('the Update object', () => {
  it('carries exactly the requested values and nothing else', () => {
    expect(updateObject('upgrade-1', { kubeVersion: 'v1.36.2' }).spec).toEqual({ kubeVersion: 'v1.36.2' });
    expect(
      updateObject('upgrade-1', {
        osImageURL: 'r/nestos:2',
        maxUnavailable: 2,
        evictPodForce: true,
        drainTimeoutSeconds: 60,
      }).spec,
    ).toEqual({ osImageURL: 'r/nestos:2', maxUnavailable: 2, evictPodForce: true, drainTimeoutSeconds: 60 });
    expect(updateObject('upgrade-1', { kubeVersion: 'v1.36.2' }).metadata).toEqual({
      name: 'upgrade-1',
      namespace: 'housekeeper-system',
    });
  });

  it('is named after the UTC time it was asked for', () => {
    expect(updateName(new Date('2026-11-22T14:05:09.123Z'))).toBe('upgrade-20261122140509');
  });

  it('pause/resume/status act on the newest unfinished Update, else the newest', () => {
    const done = update('upgrade-a', 'Completed', '2026-11-01T00:00:00Z');
    const running = update('upgrade-b', 'Progressing', '2026-11-02T00:00:00Z');
    expect(currentUpdate([done, running])?.metadata.name).toBe('upgrade-b');
    expect(currentUpdate([done])?.metadata.name).toBe('upgrade-a');
    expect(currentUpdate([])).toBeUndefined();
  });
});
