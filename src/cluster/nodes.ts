// Node objects as the waits and `status` need them.
import type { NodeSummary } from './types.js';

export interface NodeObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: {
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    nodeInfo?: { kubeletVersion?: string; osImage?: string };
    addresses?: { type?: string; address?: string }[];
  };
}

/** Roles the way kubectl shows them: node-role.kubernetes.io/<role> labels, plus kubernetes.io/role. */
export function nodeRoles(labels: Record<string, string> = {}): string[] {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      const role = key.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (key === 'kubernetes.io/role' && value !== '') {
      roles.add(value);
    }
  }
  return [...roles].sort();
}

export function summarizeNode(node: NodeObject): NodeSummary {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const readyStatus = ready?.status === 'True' || ready?.status === 'False' ? ready.status : 'Unknown';
  const summary: NodeSummary = {
    name: node.metadata?.name ?? '',
    ready: readyStatus === 'True',
    readyStatus,
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? '',
    osImage: node.status?.nodeInfo?.osImage ?? '',
    roles: nodeRoles(node.metadata?.labels),
  };
  if (ready?.reason) summary.readyReason = ready.reason;
  if (ready?.message) summary.readyMessage = ready.message;
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (ip) summary.internalIP = ip;
  return summary;
}
