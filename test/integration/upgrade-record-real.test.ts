// Completed upgrades read from a real kube-apiserver (test/helpers/real-api.ts) into nkd's state, as
// deploy, scale and diff do before planning new nodes (issue 16, defect 8): the Update CRD from
// templates/housekeeper/crd.yaml with its real status subresource and generation bookkeeping, read by
// nkd's own admin client dialling the cluster from its state (outputs.json), as after a deploy.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { UpdateObject } from '../../src/housekeeper/types.js';
import { clusterPaths } from '../../src/state/paths.js';
import { readPlan } from '../../src/workflows/cluster-access.js';
import {
  plansWithUpgrades,
  readUpgradeHistory,
  reconcileBeforeDeploy,
  upgradesPath,
} from '../../src/workflows/upgrade-record.js';
import { describeReal } from '../helpers/real.js';
import { createUpdateCrd, eventually } from '../helpers/real-housekeeper.js';
import { dryRunState, realApiRequirement, startRealCluster, type RealCluster } from '../helpers/real-api.js';

const NS = 'housekeeper-system';
const UPDATES = `/apis/housekeeper.io/v1alpha1/namespaces/${NS}/updates`;
const NEW_IMAGE = 'registry.example/nestos:24.09';
const COMPONENTS = { controllerManager: false, scheduler: false, kwok: false } as const;

describeReal(
  'completed upgrades read from the real API server into nkd state',
  realApiRequirement({ controllerManager: false, scheduler: false, kubectl: false }),
  () => {
    let cluster: RealCluster;
    let state: Awaited<ReturnType<typeof dryRunState>>;
    const paths = () => clusterPaths(state.stateDir, 'demo');

    beforeAll(async () => {
      state = await dryRunState({ version: 'v1.36.4' });
      cluster = await startRealCluster({ clusterDir: state.clusterDir, ...COMPONENTS });
      console.log(`real API server up in ${cluster.startupMs} ms`);
      // As a provisioned cluster's state: where the API answers, and the plan recorded as provisioned.
      cluster.writeOutputs(state.clusterDir);
      copyFileSync(join(state.clusterDir, 'plan.json'), join(state.clusterDir, 'deployed-plan.json'));
    }, 180_000);
    afterAll(async () => {
      await cluster?.stop();
      state?.remove();
    });

    const create = (name: string, spec: UpdateObject['spec']) =>
      cluster.api('POST', UPDATES, {
        apiVersion: 'housekeeper.io/v1alpha1',
        kind: 'Update',
        metadata: { name },
        spec,
      });
    const setStatus = (name: string, status: UpdateObject['status']) =>
      cluster.api('PATCH', `${UPDATES}/${name}/status`, { status }, 'application/merge-patch+json');

    it('without Housekeeper (no Update API) nothing is recorded and nothing is refused', async () => {
      expect(await reconcileBeforeDeploy(paths())).toBeUndefined();
      expect(existsSync(upgradesPath(paths()))).toBe(false);
      expect(readUpgradeHistory(paths()).completed).toEqual([]);
    });

    it('records the Updates that completed for their current spec, and plans new nodes on their versions', async () => {
      await cluster.api('POST', '/api/v1/namespaces', { metadata: { name: NS } });
      await createUpdateCrd(cluster);

      await create('to-1.37', { kubeVersion: 'v1.37.2', osImageURL: NEW_IMAGE });
      await setStatus('to-1.37', {
        phase: 'Completed',
        observedGeneration: 1,
        startedAt: '2026-12-01T09:00:00Z',
        completedAt: '2026-12-01T10:00:00Z',
      });
      // Still rolling out: not recorded.
      await create('to-1.37.3', { kubeVersion: 'v1.37.3' });
      await setStatus('to-1.37.3', { phase: 'Progressing', observedGeneration: 1 });
      // Completed, then its spec edited: the real server bumps the generation, so the status no longer
      // describes the spec, and the new versions are not done.
      await create('os-only', { osImageURL: 'registry.example/nestos:25.03' });
      await setStatus('os-only', {
        phase: 'Completed',
        observedGeneration: 1,
        completedAt: '2026-12-02T10:00:00Z',
      });
      const edited = (await cluster.api(
        'PATCH',
        `${UPDATES}/os-only`,
        { spec: { osImageURL: 'registry.example/nestos:25.09' } },
        'application/merge-patch+json',
      )) as UpdateObject;
      expect(edited.metadata.generation).toBe(2);

      // What deploy and scale do first: nkd's admin client, from the cluster's state alone.
      expect(await reconcileBeforeDeploy(paths())).toBeUndefined();
      expect(readUpgradeHistory(paths()).completed).toEqual([
        {
          update: 'to-1.37',
          completedAt: '2026-12-01T10:00:00Z',
          kubeVersion: 'v1.37.2',
          osImageURL: NEW_IMAGE,
        },
      ]);

      // The config as deployed (v1.36.4, no image): new nodes get what the cluster completed.
      const plans = plansWithUpgrades(paths(), readPlan(paths()));
      expect(plans.desired.kubernetes.version).toBe('v1.37.2');
      expect(plans.desired.os.releaseImage).toBe(NEW_IMAGE);
      expect(plans.deployed?.kubernetes.version).toBe('v1.37.2');
      expect(plans.notes).toHaveLength(2);

      // Deleting the Update from the cluster does not forget that the nodes run its versions.
      await cluster.api('DELETE', `${UPDATES}/to-1.37`);
      await eventually(async () => {
        const list = (await cluster.api('GET', UPDATES)) as { items: UpdateObject[] };
        return list.items.some((u) => u.metadata.name === 'to-1.37') ? undefined : true;
      });
      expect(await reconcileBeforeDeploy(paths())).toBeUndefined();
      expect(readUpgradeHistory(paths()).completed.map((u) => u.update)).toEqual(['to-1.37']);
    });

    it('an API that does not answer is a warning naming the cause; the recorded versions are still used', async () => {
      const outputs = join(state.clusterDir, 'outputs.json');
      const saved = readFileSync(outputs, 'utf8');
      // A port nothing listens on.
      writeFileSync(outputs, saved.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:1'), { mode: 0o600 });
      try {
        const warning = await reconcileBeforeDeploy(paths(), 2000);
        expect(warning).toMatch(/^could not read completed upgrades from the cluster \(.+\): new nodes get/);
        expect(readUpgradeHistory(paths()).completed.map((u) => u.update)).toEqual(['to-1.37']);
      } finally {
        writeFileSync(outputs, saved, { mode: 0o600 });
      }
    });
  },
);
