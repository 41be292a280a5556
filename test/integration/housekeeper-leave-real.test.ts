// A control-plane node leaving the cluster, against the real API server (test/helpers/real-api.ts's etcd
// and kube-apiserver): its agent removes its etcd member once and reports in the node's annotations,
// which the real server stores. The host (kubeadm) is the scripted one: nothing real can run it here.
import { expect, it } from 'vitest';
import { NodeAgent } from '../../src/housekeeper/agent/agent.js';
import { REMOVE_ETCD_MEMBER } from '../../src/housekeeper/agent/leave.js';
import {
  LEAVE_ANNOTATION,
  LEAVE_PROGRESS_ANNOTATION,
  type LeaveProgress,
  type NodeObject,
} from '../../src/housekeeper/types.js';
import { describeReal } from '../helpers/real.js';
import { realApiRequirement } from '../helpers/real-api.js';
import { realSuite } from '../helpers/real-housekeeper.js';
import { ScriptedHost } from '../helpers/scripted-host.js';

const OPTIONS = { controllerManager: false, scheduler: false, kwok: false } as const;
const COMMAND = REMOVE_ETCD_MEMBER.join(' ');

describeReal('a control-plane node leaving, on the real API server', realApiRequirement(OPTIONS), () => {
  const suite = realSuite(OPTIONS);
  let seq = 0;

  async function world() {
    const real = suite.real;
    const node = `leave-cp-${++seq}`;
    await real.addNodes([{ name: node, controlPlane: true, ready: false }]);
    const kube = suite.adminKube();
    const now = () => new Date('2026-11-22T12:00:00Z');
    const host = new ScriptedHost({ controlPlaneVersion: 'v1.30.4' });
    const agent = () =>
      new NodeAgent({ nodeName: node, namespace: 'housekeeper-system', kube, host, now, log: () => {} });
    const leave = () =>
      kube.patchNode(node, {
        metadata: { annotations: { [LEAVE_ANNOTATION]: JSON.stringify({ key: `leave-${node}` }) } },
      });
    const progress = async () => {
      const stored = (await real.api('GET', `/api/v1/nodes/${node}`)) as NodeObject;
      const text = stored.metadata.annotations?.[LEAVE_PROGRESS_ANNOTATION];
      return text ? (JSON.parse(text) as LeaveProgress) : undefined;
    };
    return { node, host, agent, leave, progress };
  }

  it('removes its etcd member with kubeadm, reports done, and never runs it again', async () => {
    const w = await world();
    await w.leave();
    expect(await w.agent().step()).toBe('done');
    expect(w.host.commands.filter((c) => c === COMMAND)).toHaveLength(1);
    expect(await w.progress()).toMatchObject({ key: `leave-${w.node}`, phase: 'done' });
    expect(await w.agent().step()).toBe('done');
    expect(w.host.commands.filter((c) => c === COMMAND)).toHaveLength(1);
  });

  it('reports a failing kubeadm as failed with its last line, and does not retry it', async () => {
    const w = await world();
    w.host.fail('kubeadm reset', 'error: etcd cluster is unavailable or misconfigured');
    await w.leave();
    expect(await w.agent().step()).toBe('failed');
    expect((await w.progress())?.lastError).toMatch(/remove-etcd-member.*etcd cluster is unavailable/);
    await w.agent().step();
    expect(w.host.commands.filter((c) => c.startsWith('kubeadm reset'))).toHaveLength(1);
  });

  it('without the annotation the agent never touches etcd', async () => {
    const w = await world();
    expect(await w.agent().step()).toBe('idle');
    expect(w.host.commands.some((c) => c.startsWith('kubeadm reset'))).toBe(false);
  });
});
