/**
 * The operator's health gate, from the pods it reads: what holds the next node back and what must not.
 * The real Operator over the in-memory API (test/helpers/memory-kube.ts).
 */
import { describe, expect, it } from 'vitest';
import { Operator } from '../../src/housekeeper/operator.js';
import { TARGET_ANNOTATION, type UpdateObject } from '../../src/housekeeper/types.js';
import { MemoryKube } from '../helpers/memory-kube.js';

const NS = 'housekeeper-system';

function cluster(controlPlanes: string[], workers: string[] = []) {
  const kube = new MemoryKube(() => new Date('2026-01-01T00:00:00Z'));
  for (const name of controlPlanes) {
    kube.addNode(name, { controlPlane: true });
    kube.addPod('kube-system', `etcd-${name}`, {
      node: name,
      owner: 'none',
      mirror: true,
      labels: { component: 'etcd' },
    });
    ready(kube, `kube-system/etcd-${name}`);
  }
  for (const name of workers) kube.addNode(name);
  const update: UpdateObject = {
    apiVersion: 'housekeeper.io/v1alpha1',
    kind: 'Update',
    metadata: { name: 'up', namespace: NS, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { osImageURL: 'hub.example/nestos:new' },
  };
  kube.updates.set(`${NS}/up`, update);
  const operator = new Operator({ kube, namespace: NS, identity: 'op-0' });
  const handedOut = () =>
    [...kube.nodes.values()]
      .filter((n) => n.metadata.annotations?.[TARGET_ANNOTATION])
      .map((n) => n.metadata.name);
  const message = () =>
    kube.updates.get(`${NS}/up`)?.status?.conditions?.find((c) => c.type === 'Progressing')?.message;
  return { kube, operator, handedOut, message };
}

function ready(kube: MemoryKube, id: string): void {
  const pod = kube.pods.get(id)!;
  pod.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
}

describe('the health gate', () => {
  it('is not stalled by a Failed (evicted) pod in kube-system', async () => {
    const c = cluster(['cp-1']);
    c.kube.addPod('kube-system', 'coredns-evicted', { node: 'cp-1', phase: 'Failed' });
    await c.operator.reconcileOnce();
    expect(c.handedOut()).toEqual(['cp-1']);
  });

  it('waits for a system-critical pod outside kube-system (the CNI) to be Ready, and names it', async () => {
    const c = cluster(['cp-1'], ['w-1']);
    c.kube.addPod('kube-flannel', 'kube-flannel-ds-x', { node: 'w-1', owner: 'DaemonSet' });
    const pod = c.kube.pods.get('kube-flannel/kube-flannel-ds-x')!;
    pod.spec = { ...pod.spec, priorityClassName: 'system-node-critical' } as typeof pod.spec;
    pod.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
    await c.operator.reconcileOnce();
    expect(c.handedOut()).toEqual([]);
    expect(c.message()).toContain('system pods are not healthy (kube-flannel/kube-flannel-ds-x)');
    ready(c.kube, 'kube-flannel/kube-flannel-ds-x');
    await c.operator.reconcileOnce();
    expect(c.handedOut()).toEqual(['cp-1']);
  });

  it('takes no control plane down while an etcd member is missing', async () => {
    const c = cluster(['cp-1', 'cp-2', 'cp-3']);
    c.kube.pods.delete('kube-system/etcd-cp-3');
    await c.operator.reconcileOnce();
    expect(c.handedOut()).toEqual([]);
    expect(c.message()).toContain('2 of 3 etcd members are Ready');
  });
});

describe('events', () => {
  it('records on the Update and the Node when a node is handed out, and on the Update when its phase changes', async () => {
    const c = cluster(['cp-1']);
    await c.operator.reconcileOnce();
    const summary = c.kube.events.map(
      (e) =>
        `${e.metadata.namespace} ${e.involvedObject.kind}/${e.involvedObject.name} ${e.type} ${e.reason}`,
    );
    expect(summary).toEqual([
      'housekeeper-system Update/up Normal NodeHandedOut',
      'default Node/cp-1 Normal HousekeeperUpgrade',
      'housekeeper-system Update/up Normal Progressing',
    ]);
    expect(c.kube.events[0]?.message).toBe('node cp-1 handed to its agent: OS hub.example/nestos:new');
    await c.operator.reconcileOnce();
    expect(c.kube.events).toHaveLength(3); // nothing new happened: no new events
  });
});
