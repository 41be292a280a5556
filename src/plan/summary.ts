// The plan in cluster terms, for people. The full plan is in plan.json; large clusters are abbreviated.
import { endpointText } from './plan.js';
import type { ClusterPlan, NodePlan } from './types.js';

const MAX_ROWS_PER_ROLE = 10;

const BOOTSTRAP_TEXT: Record<NodePlan['bootstrap'], string> = {
  init: 'kubeadm init',
  'join-control-plane': 'kubeadm join --control-plane',
  join: 'kubeadm join',
};

function row(cells: string[], widths: number[]): string {
  return cells
    .map((cell, i) => cell.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}

function vipNote(plan: ClusterPlan): string {
  const vip = plan.kubernetes.apiVip;
  return vip === undefined ? '' : ` (VIP ${vip.address} held by keepalived, VRRP id ${vip.virtualRouterId})`;
}

export function formatPlanSummary(plan: ClusterPlan): string {
  const k8s = plan.kubernetes;
  const controlPlane = plan.nodes.filter((n) => n.role === 'control-plane');
  const workers = plan.nodes.filter((n) => n.role === 'worker');
  const lines = [
    `Cluster ${plan.name} on ${plan.platform.name}: ${controlPlane.length} control-plane and ${workers.length} worker node(s)`,
    `  Kubernetes ${k8s.version} (${k8s.kubeadmApiVersion}), runtime ${plan.runtime.name}, network plugin ${plan.network.plugin}`,
    `  API endpoint https://${endpointText(k8s.controlPlaneEndpoint)}${vipNote(plan)}; node network ${plan.network.cidr} via ${plan.network.gateway}`,
    `  pods ${k8s.podSubnet}, services ${k8s.serviceSubnet}` +
      (plan.os.releaseImage === '' ? '' : `; OS rebased to ${plan.os.releaseImage}`),
    '',
  ];
  // A platform that sizes nodes itself (a flavor) does not use the plan's sizes: they are not shown.
  const sized = plan.platform.nodeSizing !== 'platform';
  const header = ['ROLE', 'NAME', 'ADDRESS', ...(sized ? ['CPUS', 'MEMORY', 'DISK'] : []), 'BOOTSTRAP'];
  const shown = [...controlPlane.slice(0, MAX_ROWS_PER_ROLE), ...workers.slice(0, MAX_ROWS_PER_ROLE)];
  const cells = shown.map((n) => [
    n.role,
    n.name,
    n.address,
    ...(sized ? [String(n.cpus), `${n.memoryMiB} MiB`, `${n.diskGiB} GiB`] : []),
    BOOTSTRAP_TEXT[n.bootstrap],
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  lines.push(row(header, widths), ...cells.map((c) => row(c, widths)));
  for (const [role, list] of [
    ['control-plane', controlPlane],
    ['worker', workers],
  ] as const) {
    if (list.length > MAX_ROWS_PER_ROLE)
      lines.push(`... and ${list.length - MAX_ROWS_PER_ROLE} more ${role} node(s) (see plan.json)`);
  }
  return lines.join('\n');
}
