// Completed upgrades in nkd's state (issue 16, defect 8): what a completed Update brings every node to
// is what nodes added later get, and what the diff compares against.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode, NkdError } from '../../src/errors.js';
import type { UpdateObject } from '../../src/housekeeper/types.js';
import { diffPlans } from '../../src/plan/diff.js';
import { planCluster } from '../../src/plan/plan.js';
import {
  completedUpgrades,
  currentVersions,
  desiredPlan,
  emptyHistory,
  mergeHistory,
  runningPlan,
  type CompletedUpgrade,
  type UpgradeHistory,
} from '../../src/plan/upgrades.js';
import { renderNode } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { clusterPaths, writePrivateFile } from '../../src/state/paths.js';
import { deployedPlanPath } from '../../src/workflows/cluster-access.js';
import { runDestroy } from '../../src/workflows/destroy.js';
import {
  plansWithUpgrades,
  readUpgradeHistory,
  recordCompletedUpdate,
  recordUpgrades,
  upgradesPath,
} from '../../src/workflows/upgrade-record.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';
import { validConfig, type ConfigOverrides } from '../helpers/configs.js';

const plan = (o: ConfigOverrides = {}) => planCluster(validConfig(o));

interface IgnitionFile {
  path: string;
  contents: { source: string };
}

function decodeDataUrl(source: string): string {
  const match = /^data:([^,]*),(.*)$/s.exec(source)!;
  return match[1]!.endsWith(';base64')
    ? Buffer.from(match[2]!, 'base64').toString('utf8')
    : decodeURIComponent(match[2]!);
}
const OLD_IMAGE = 'registry.example/nestos:24.03';
const NEW_IMAGE = 'registry.example/nestos:24.09';

function update(
  name: string,
  spec: UpdateObject['spec'],
  status: UpdateObject['status'],
  generation = 1,
): UpdateObject {
  return {
    apiVersion: 'housekeeper.io/v1alpha1',
    kind: 'Update',
    metadata: { name, namespace: 'housekeeper-system', generation },
    spec,
    ...(status ? { status } : {}),
  };
}

const history = (...completed: CompletedUpgrade[]): UpgradeHistory => ({ version: 1, completed });
const toKube137: CompletedUpgrade = {
  update: 'upgrade-1',
  completedAt: '2026-12-01T10:00:00Z',
  kubeVersion: 'v1.37.2',
};
const toImage: CompletedUpgrade = {
  update: 'upgrade-2',
  completedAt: '2026-12-02T10:00:00Z',
  osImageURL: NEW_IMAGE,
};

describe('completed Updates', () => {
  it('counts only Updates Completed for the spec their status describes', () => {
    const done = completedUpgrades([
      update(
        'a',
        { kubeVersion: 'v1.37.2' },
        { phase: 'Completed', completedAt: 'T1', observedGeneration: 1 },
      ),
      update('b', { osImageURL: NEW_IMAGE }, { phase: 'Progressing', observedGeneration: 1 }),
      // Edited after it completed: not done with the new spec until the operator says so.
      update(
        'c',
        { kubeVersion: 'v1.37.3' },
        { phase: 'Completed', completedAt: 'T2', observedGeneration: 1 },
        2,
      ),
      update('d', { osImageURL: NEW_IMAGE }, { phase: 'Failed', observedGeneration: 1 }),
      update('e', { osImageURL: NEW_IMAGE }, undefined),
    ]);
    expect(done).toEqual([{ update: 'a', completedAt: 'T1', kubeVersion: 'v1.37.2' }]);
  });

  it('merges newly seen ones once, oldest first, and keeps Updates deleted from the cluster', () => {
    const first = mergeHistory(emptyHistory(), [toImage]);
    expect(first.changed).toBe(true);
    const second = mergeHistory(first.history, [toKube137, toImage]);
    expect(second.changed).toBe(true);
    expect(second.history.completed.map((u) => u.update)).toEqual(['upgrade-1', 'upgrade-2']);
    // Seen again, or deleted from the cluster: nothing changes.
    expect(mergeHistory(second.history, [toImage]).changed).toBe(false);
    expect(mergeHistory(second.history, []).history.completed).toHaveLength(2);
  });

  it('the current versions come from the newest Update that set each one', () => {
    const later: CompletedUpgrade = {
      update: 'upgrade-3',
      completedAt: '2026-12-03T10:00:00Z',
      kubeVersion: 'v1.37.3',
    };
    expect(currentVersions(history(toImage, later, toKube137))).toEqual({
      kubernetes: { version: 'v1.37.3', update: 'upgrade-3', completedAt: later.completedAt },
      os: { image: NEW_IMAGE, update: 'upgrade-2', completedAt: toImage.completedAt },
    });
  });
});

describe('plans after an upgrade', () => {
  const deployed = plan({ version: 'v1.36.4', releaseImage: OLD_IMAGE });
  const recorded = history(toKube137, toImage);

  it('an unedited config: new nodes get the upgraded versions, nothing else changes, and the user is told', () => {
    const { plan: desired, notes } = desiredPlan(
      plan({ version: 'v1.36.4', releaseImage: OLD_IMAGE, workers: { count: 3 } }),
      recorded,
      OLD_IMAGE,
    );
    expect(desired.kubernetes.version).toBe('v1.37.2');
    expect(desired.kubernetes.pauseImage).toBe(plan({ version: 'v1.37.2' }).kubernetes.pauseImage);
    expect(desired.os.releaseImage).toBe(NEW_IMAGE);
    expect(notes).toEqual([
      expect.stringMatching(
        /^spec\.kubernetes\.version v1\.36\.4 is older than v1\.37\.2, which Update upgrade-1 brought every node to on 2026-12-01: .*set spec\.kubernetes\.version: v1\.37\.2/,
      ),
      expect.stringMatching(
        /^spec\.os\.releaseImage is registry\.example\/nestos:24\.03, but Update upgrade-2 rebased every node onto registry\.example\/nestos:24\.09 .*set spec\.os\.releaseImage: registry\.example\/nestos:24\.09/,
      ),
    ]);
    const d = diffPlans(runningPlan(deployed, recorded), desired);
    expect(d.forbidden).toEqual([]);
    expect(d.add.map((n) => n.name)).toEqual(['demo-worker-3']);
  });

  it('a config edited to the upgraded versions shows no drift (no phantom version change)', () => {
    const edited = plan({ version: 'v1.37.2', releaseImage: NEW_IMAGE });
    const { plan: desired, notes } = desiredPlan(edited, recorded, OLD_IMAGE);
    expect(notes).toEqual([]);
    expect(desired).toBe(edited);
    expect(diffPlans(runningPlan(deployed, recorded), desired).unchanged).toBe(true);
    // Without the record, the same config is refused: versions change with `nkd upgrade`.
    expect(diffPlans(deployed, edited).forbidden.map((f) => f.path)).toEqual([
      'spec.kubernetes.version',
      'spec.os.releaseImage',
    ]);
  });

  it('a config newer than the cluster (or naming an image it never ran) is still refused: that is `nkd upgrade`', () => {
    const ahead = plan({ version: 'v1.37.3', releaseImage: 'registry.example/nestos:25.03' });
    const { plan: desired, notes } = desiredPlan(ahead, recorded, OLD_IMAGE);
    expect(notes).toEqual([]);
    const forbidden = diffPlans(runningPlan(deployed, recorded), desired).forbidden;
    expect(forbidden.map((f) => [f.path, f.before, f.after])).toEqual([
      ['spec.kubernetes.version', 'v1.37.2', 'v1.37.3'],
      ['spec.os.releaseImage', NEW_IMAGE, 'registry.example/nestos:25.03'],
    ]);
  });

  it('a config without an image after an OS upgrade: new nodes are rebased onto the upgraded one at first boot', () => {
    const bare = plan({ version: 'v1.36.4' });
    const { plan: desired } = desiredPlan(bare, history(toImage), '');
    const worker = desired.nodes.find((n) => n.role === 'worker')!;
    const rebaseScript = (p: typeof bare) => {
      const text = renderNode({ plan: p, pki: FAKE_PKI, templates: loadTemplates() }, worker).ignitionText;
      const files = (JSON.parse(text) as { storage: { files: IgnitionFile[] } }).storage.files;
      const source = files.find((f) => f.path === '/usr/local/bin/nkd-rebase')?.contents.source;
      return source === undefined ? undefined : decodeDataUrl(source);
    };
    expect(rebaseScript(desired)).toContain(NEW_IMAGE);
    expect(rebaseScript(bare)).toBeUndefined();
  });

  it('a Kubernetes version is never lowered by the record', () => {
    const newer = plan({ version: 'v1.37.3' });
    expect(runningPlan(newer, history(toKube137)).kubernetes.version).toBe('v1.37.3');
  });
});

describe('the record in the cluster state', () => {
  const roots: string[] = [];
  afterEach(() => roots.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const paths = () => {
    const root = mkdtempSync(join(tmpdir(), 'nkd-upgrades-'));
    roots.push(root);
    return clusterPaths(join(root, 'state'), 'demo');
  };

  it('is written 0600 when an Update completes, read back, and applied to the plans of a provisioned cluster', () => {
    const p = paths();
    const done = update(
      'upgrade-1',
      { kubeVersion: 'v1.37.2', osImageURL: NEW_IMAGE },
      { phase: 'Completed', completedAt: '2026-12-01T10:00:00Z', observedGeneration: 1 },
    );
    recordCompletedUpdate(p, done);
    expect(statSync(upgradesPath(p)).mode & 0o777).toBe(0o600);
    expect(readUpgradeHistory(p).completed).toEqual([
      {
        update: 'upgrade-1',
        completedAt: '2026-12-01T10:00:00Z',
        kubeVersion: 'v1.37.2',
        osImageURL: NEW_IMAGE,
      },
    ]);
    const config = plan({ version: 'v1.36.4' });
    // Not provisioned: nothing was upgraded, the config's plan stands.
    expect(plansWithUpgrades(p, config).desired).toBe(config);
    writePrivateFile(deployedPlanPath(p), JSON.stringify(config));
    const plans = plansWithUpgrades(p, config);
    expect(plans.deployed?.kubernetes.version).toBe('v1.37.2');
    expect(plans.desired.kubernetes.version).toBe('v1.37.2');
    expect(plans.desired.os.releaseImage).toBe(NEW_IMAGE);
    expect(plans.notes).toHaveLength(2);
  });

  it('is rewritten only when something is new', () => {
    const p = paths();
    recordUpgrades(p, [toKube137]);
    const written = statSync(upgradesPath(p)).mtimeMs;
    recordUpgrades(p, [toKube137]);
    expect(statSync(upgradesPath(p)).mtimeMs).toBe(written);
    expect(JSON.parse(readFileSync(upgradesPath(p), 'utf8'))).toEqual(history(toKube137));
  });

  it('destroy --keep-state forgets it with the machines it belonged to', async () => {
    const p = paths();
    recordUpgrades(p, [toKube137]);
    await runDestroy({
      cluster: 'demo',
      paths: p,
      engine: undefined,
      reporter: { emit: () => {}, suspend: () => {}, resume: () => {}, close: () => {} },
      signal: new AbortController().signal,
      keepState: true,
    });
    expect(existsSync(upgradesPath(p))).toBe(false);
    expect(existsSync(p.root)).toBe(true);
  });

  it('a corrupt record refuses the command by path (exit 4), never quoting it', () => {
    const p = paths();
    recordUpgrades(p, [toKube137]);
    writeFileSync(upgradesPath(p), '{"version":1,"completed":[{"update":5}]}', { mode: 0o600 });
    let error: unknown;
    try {
      readUpgradeHistory(p);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NkdError);
    expect((error as NkdError).exitCode).toBe(ExitCode.State);
    expect((error as NkdError).message).toContain(upgradesPath(p));
    expect((error as NkdError).message).toContain('corrupt');
  });
});
