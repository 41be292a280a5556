// The operator's health gate and its Events, against the real API server (test/helpers/real-api.ts's etcd
// and kube-apiserver, nothing else: no kubelet or kwok, so the tests set the Ready condition of nodes and
// the phase and readiness of pods through the real status subresources themselves). The real Operator
// reads what the server stores and writes target annotations, the Update's status and Events.
import { afterEach, expect, it } from 'vitest';
import { Operator } from '../../src/housekeeper/operator.js';
import { TARGET_ANNOTATION, type NodeObject, type UpdateObject } from '../../src/housekeeper/types.js';
import { describeReal } from '../helpers/real.js';
import { realApiRequirement } from '../helpers/real-api.js';
import { createUpdateCrd, realSuite } from '../helpers/real-housekeeper.js';

const OPTIONS = { controllerManager: false, scheduler: false, kwok: false } as const;
const MERGE = 'application/merge-patch+json';

interface PodSetup {
  node: string;
  labels?: Record<string, string>;
  priorityClassName?: string;
  phase?: 'Running' | 'Failed';
  ready?: boolean;
}

describeReal('the operator against the real API server', realApiRequirement(OPTIONS), () => {
  const suite = realSuite(OPTIONS, async ({ real }) => {
    await createUpdateCrd(real);
    await namespace('kube-system');
  });
  let seq = 0;
  afterEach(async () => {
    // Every test starts from no nodes and no pods (the operator plans over the whole cluster).
    await suite.real.deleteAllNodes();
    for (const ns of ['kube-system', ...namespaces.splice(0)]) {
      await suite.real.api('DELETE', `/api/v1/namespaces/${ns}/pods?gracePeriodSeconds=0`);
    }
  });
  const namespaces: string[] = [];

  /** A namespace with its "default" service account (no controller manager here creates it). */
  async function namespace(name: string): Promise<void> {
    await suite.real.api('POST', '/api/v1/namespaces', { metadata: { name } }).catch(() => undefined);
    await suite.real
      .api('POST', `/api/v1/namespaces/${name}/serviceaccounts`, { metadata: { name: 'default' } })
      .catch(() => undefined);
    if (name !== 'kube-system') namespaces.push(name);
  }

  async function readyNode(name: string, controlPlane: boolean): Promise<void> {
    await suite.real.addNodes([{ name, controlPlane, ready: false }]);
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await suite.real.api(
      'PATCH',
      `/api/v1/nodes/${name}/status`,
      {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'test',
              lastHeartbeatTime: at,
              lastTransitionTime: at,
            },
          ],
        },
      },
      MERGE,
    );
  }

  async function pod(ns: string, name: string, p: PodSetup): Promise<void> {
    await suite.real.api('POST', `/api/v1/namespaces/${ns}/pods`, {
      metadata: { name, ...(p.labels ? { labels: p.labels } : {}) },
      spec: {
        nodeName: p.node,
        ...(p.priorityClassName ? { priorityClassName: p.priorityClassName } : {}),
        containers: [{ name: 'c', image: 'registry.example/c:1' }],
      },
    });
    await podStatus(ns, name, p.phase ?? 'Running', p.ready ?? true);
  }

  async function podStatus(ns: string, name: string, phase: string, ready: boolean): Promise<void> {
    const conditions = [{ type: 'Ready', status: ready ? 'True' : 'False' }];
    await suite.real.api(
      'PATCH',
      `/api/v1/namespaces/${ns}/pods/${name}/status`,
      { status: { phase, conditions } },
      MERGE,
    );
  }

  /** Control planes with a Ready etcd pod each, workers, an Update for a new OS image, the operator. */
  async function cluster(controlPlanes: string[], workers: string[] = []) {
    const ns = `hk-op-${++seq}`;
    await namespace(ns);
    for (const name of controlPlanes) {
      await readyNode(name, true);
      await pod('kube-system', `etcd-${name}`, { node: name, labels: { component: 'etcd' } });
    }
    for (const name of workers) await readyNode(name, false);
    await suite.real.api('POST', `/apis/housekeeper.io/v1alpha1/namespaces/${ns}/updates`, {
      apiVersion: 'housekeeper.io/v1alpha1',
      kind: 'Update',
      metadata: { name: 'up' },
      spec: { osImageURL: 'hub.example/nestos:new' },
    });
    const kube = suite.adminKube();
    const operator = new Operator({ kube, namespace: ns, identity: 'op-0' });
    const handedOut = async () =>
      (await kube.listNodes())
        .filter((n: NodeObject) => n.metadata.annotations?.[TARGET_ANNOTATION])
        .map((n) => n.metadata.name);
    const message = async () =>
      ((await kube.getUpdate(ns, 'up')) as UpdateObject).status?.conditions?.find(
        (c) => c.type === 'Progressing',
      )?.message;
    return { ns, kube, operator, handedOut, message };
  }

  it('the health gate is not stalled by a Failed (evicted) pod in kube-system', async () => {
    const c = await cluster(['gate1-cp-1']);
    await pod('kube-system', 'coredns-evicted', { node: 'gate1-cp-1', phase: 'Failed', ready: false });
    await c.operator.reconcileOnce();
    expect(await c.handedOut()).toEqual(['gate1-cp-1']);
  });

  it('the health gate waits for a system-critical pod outside kube-system (the CNI) to be Ready, and names it', async () => {
    const c = await cluster(['gate2-cp-1'], ['gate2-w-1']);
    await namespace('kube-flannel');
    // The real server resolves the priority class (admission): system-node-critical exists built in.
    await pod('kube-flannel', 'kube-flannel-ds-x', {
      node: 'gate2-w-1',
      priorityClassName: 'system-node-critical',
      ready: false,
    });
    await c.operator.reconcileOnce();
    expect(await c.handedOut()).toEqual([]);
    expect(await c.message()).toContain('system pods are not healthy (kube-flannel/kube-flannel-ds-x)');
    await podStatus('kube-flannel', 'kube-flannel-ds-x', 'Running', true);
    await c.operator.reconcileOnce();
    expect(await c.handedOut()).toEqual(['gate2-cp-1']);
  });

  it('the health gate takes no control plane down while an etcd member is missing', async () => {
    const c = await cluster(['gate3-cp-1', 'gate3-cp-2', 'gate3-cp-3']);
    await suite.real.api(
      'DELETE',
      '/api/v1/namespaces/kube-system/pods/etcd-gate3-cp-3?gracePeriodSeconds=0',
    );
    await c.operator.reconcileOnce();
    expect(await c.handedOut()).toEqual([]);
    expect(await c.message()).toContain('2 of 3 etcd members are Ready');
  });

  it('records Events on the Update and the Node when a node is handed out, and on the Update when its phase changes', async () => {
    const c = await cluster(['ev-cp-1']);
    await c.operator.reconcileOnce();
    const events = async () => {
      const lists = await Promise.all(
        [c.ns, 'default'].map(
          async (ns) =>
            (
              (await suite.real.api('GET', `/api/v1/namespaces/${ns}/events`)) as {
                items: {
                  metadata: { namespace: string; creationTimestamp: string };
                  involvedObject: { kind: string; name: string };
                  type: string;
                  reason: string;
                  message: string;
                }[];
              }
            ).items,
        ),
      );
      return lists
        .flat()
        .filter((e) => e.involvedObject.name === 'up' || e.involvedObject.name === 'ev-cp-1');
    };
    const summary = (await events()).map(
      (e) =>
        `${e.metadata.namespace} ${e.involvedObject.kind}/${e.involvedObject.name} ${e.type} ${e.reason}`,
    );
    expect(summary.sort()).toEqual(
      [
        `${c.ns} Update/up Normal NodeHandedOut`,
        'default Node/ev-cp-1 Normal HousekeeperUpgrade',
        `${c.ns} Update/up Normal Progressing`,
      ].sort(),
    );
    expect((await events()).find((e) => e.reason === 'NodeHandedOut')?.message).toBe(
      'node ev-cp-1 handed to its agent: OS hub.example/nestos:new',
    );
    await c.operator.reconcileOnce();
    expect(await events()).toHaveLength(3); // nothing new happened: no new events
  });
});
