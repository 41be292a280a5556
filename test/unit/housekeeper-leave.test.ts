// A control-plane node leaving the cluster: its agent removes its etcd member, once, and reports.
import { describe, expect, it } from 'vitest';
import { NodeAgent } from '../../src/housekeeper/agent/agent.js';
import { REMOVE_ETCD_MEMBER } from '../../src/housekeeper/agent/leave.js';
import {
  LEAVE_ANNOTATION,
  LEAVE_PROGRESS_ANNOTATION,
  type LeaveProgress,
} from '../../src/housekeeper/types.js';
import { MemoryKube } from '../helpers/memory-kube.js';
import { ScriptedHost } from '../helpers/scripted-host.js';

const NODE = 'cp-3';
const COMMAND = REMOVE_ETCD_MEMBER.join(' ');

function world() {
  const now = () => new Date('2026-11-22T12:00:00Z');
  const kube = new MemoryKube(now);
  kube.addNode(NODE, { controlPlane: true });
  const host = new ScriptedHost({ controlPlaneVersion: 'v1.30.4' });
  const agent = () =>
    new NodeAgent({ nodeName: NODE, namespace: 'housekeeper-system', kube, host, now, log: () => {} });
  const leave = () =>
    kube.patchNode(NODE, {
      metadata: { annotations: { [LEAVE_ANNOTATION]: JSON.stringify({ key: 'leave-cp-3' }) } },
    });
  const progress = () => {
    const text = kube.node(NODE).metadata.annotations?.[LEAVE_PROGRESS_ANNOTATION];
    return text ? (JSON.parse(text) as LeaveProgress) : undefined;
  };
  return { kube, host, agent, leave, progress };
}

describe('a control-plane node leaving', () => {
  it('removes its etcd member with kubeadm, reports done, and never runs it again', async () => {
    const w = world();
    await w.leave();
    expect(await w.agent().step()).toBe('done');
    expect(w.host.commands.filter((c) => c === COMMAND)).toHaveLength(1);
    expect(w.progress()).toMatchObject({ key: 'leave-cp-3', phase: 'done' });
    expect(await w.agent().step()).toBe('done');
    expect(w.host.commands.filter((c) => c === COMMAND)).toHaveLength(1);
  });

  it('reports a failing kubeadm as failed with its last line, and does not retry it', async () => {
    const w = world();
    w.host.fail('kubeadm reset', 'error: etcd cluster is unavailable or misconfigured');
    await w.leave();
    expect(await w.agent().step()).toBe('failed');
    expect(w.progress()?.lastError).toMatch(/remove-etcd-member.*etcd cluster is unavailable/);
    await w.agent().step();
    expect(w.host.commands.filter((c) => c.startsWith('kubeadm reset'))).toHaveLength(1);
  });

  it('without the annotation the agent never touches etcd', async () => {
    const w = world();
    expect(await w.agent().step()).toBe('idle');
    expect(w.host.commands.some((c) => c.startsWith('kubeadm reset'))).toBe(false);
  });
});
