// A control-plane node leaving the cluster (nkd scale-in): its agent removes the node's etcd member with
// kubeadm, which finds the other members through the cluster and removes only this one, so the rest keep
// quorum. Only that kubeadm phase runs: a full `kubeadm reset` would also remove every container on the
// node, the agent's own included, before it could report.
import { parseObject } from '../annotations.js';
import {
  LEAVE_ANNOTATION,
  LEAVE_PROGRESS_ANNOTATION,
  type HostExecutor,
  type HousekeeperKube,
  type LeaveProgress,
  type NodeLeave,
  type NodeObject,
} from '../types.js';

export const REMOVE_ETCD_MEMBER = [
  'kubeadm',
  'reset',
  'phase',
  'remove-etcd-member',
  '--kubeconfig',
  '/etc/kubernetes/admin.conf',
];

export function readLeave(node: NodeObject): { leave?: NodeLeave; progress?: LeaveProgress } {
  const leave = parseObject(node.metadata.annotations?.[LEAVE_ANNOTATION]) as NodeLeave | undefined;
  const progress = parseObject(node.metadata.annotations?.[LEAVE_PROGRESS_ANNOTATION]) as
    LeaveProgress | undefined;
  return { ...(leave ? { leave } : {}), ...(progress ? { progress } : {}) };
}

/** One pass for a node asked to leave; undefined when it is not. */
export async function leaveStep(options: {
  node: NodeObject;
  kube: HousekeeperKube;
  host: HostExecutor;
  now: () => Date;
  log: (line: string) => void;
}): Promise<LeaveProgress['phase'] | undefined> {
  const { leave, progress } = readLeave(options.node);
  if (!leave) return undefined;
  if (progress?.key === leave.key && progress.phase !== 'removing-etcd-member') return progress.phase;
  const name = options.node.metadata.name;
  const report = (p: Omit<LeaveProgress, 'key' | 'at'>) =>
    options.kube.patchNode(name, {
      metadata: {
        annotations: {
          [LEAVE_PROGRESS_ANNOTATION]: JSON.stringify({
            key: leave.key,
            at: options.now().toISOString(),
            ...p,
          }),
        },
      },
    });
  // Recorded before the command: a restarted agent runs it again, which kubeadm tolerates (the member
  // is found gone and the phase succeeds).
  await report({ phase: 'removing-etcd-member' });
  options.log(`node ${name}: removing its etcd member`);
  const result = await options.host.run(REMOVE_ETCD_MEMBER);
  if (result.exitCode !== 0) {
    const last = result.stderr.trim().split('\n').at(-1) ?? '';
    await report({ phase: 'failed', lastError: `${REMOVE_ETCD_MEMBER.join(' ')}: ${last}` });
    return 'failed';
  }
  await report({ phase: 'done' });
  return 'done';
}
