// What a config change would do to a deployed cluster, in cluster terms: nodes added and removed,
// nodes resized, control-plane changes and what they mean for etcd quorum, and changes nkd refuses to
// make in place (they would need a new cluster, or `nkd upgrade`). Pure: the deployed plan (recorded
// when provisioning finished) against the desired one.
import type { ClusterPlan, NodePlan } from './types.js';

export interface NodeChange {
  name: string;
  role: NodePlan['role'];
  changes: string[];
}

export interface ForbiddenChange {
  /** The config key the change comes from. */
  path: string;
  before: string;
  after: string;
  why: string;
}

export interface ClusterDiff {
  /** Nothing was provisioned yet: everything is created. */
  firstDeploy: boolean;
  add: NodePlan[];
  remove: NodePlan[];
  resize: NodeChange[];
  controlPlane: { before: number; after: number };
  forbidden: ForbiddenChange[];
  /** Consequences the user must know about (quorum, disruption). */
  notes: string[];
  unchanged: boolean;
}

function setting(out: ForbiddenChange[], path: string, before: unknown, after: unknown, why: string): void {
  const b = typeof before === 'string' ? before : JSON.stringify(before);
  const a = typeof after === 'string' ? after : JSON.stringify(after);
  if (b !== a) out.push({ path, before: b, after: a, why });
}

const NEW_CLUSTER = 'it is fixed when a cluster is created: deploy a new cluster to change it';

const vipText = (plan: ClusterPlan): string =>
  plan.kubernetes.apiVip === undefined
    ? 'none'
    : `${plan.kubernetes.apiVip.address} (VRRP id ${plan.kubernetes.apiVip.virtualRouterId})`;
const controlPlaneAddresses = (plan: ClusterPlan): string =>
  plan.nodes
    .filter((n) => n.role === 'control-plane')
    .map((n) => n.address)
    .join(', ');

/**
 * keepalived's configuration is written once, at a control plane's first boot: a new router id would
 * split the control planes into two VRRP groups, and a control plane added or removed would be missing
 * from (or linger in) the others' unicast peers, so two of them could hold the VIP at once.
 */
function vipChanges(deployed: ClusterPlan, desired: ClusterPlan, forbidden: ForbiddenChange[]): void {
  setting(forbidden, 'spec.platform.*.apiEndpoint (VIP)', vipText(deployed), vipText(desired), NEW_CLUSTER);
  if (deployed.kubernetes.apiVip === undefined || desired.kubernetes.apiVip === undefined) return;
  setting(
    forbidden,
    'spec.controlPlane (with an API VIP)',
    controlPlaneAddresses(deployed),
    controlPlaneAddresses(desired),
    'each control plane’s keepalived knows the others from its first boot only; a changed set could hold the VIP twice: deploy a new cluster to change it',
  );
}

export function diffPlans(deployed: ClusterPlan | undefined, desired: ClusterPlan): ClusterDiff {
  const cpAfter = desired.nodes.filter((n) => n.role === 'control-plane').length;
  if (!deployed) {
    return {
      firstDeploy: true,
      add: desired.nodes,
      remove: [],
      resize: [],
      controlPlane: { before: 0, after: cpAfter },
      forbidden: [],
      notes: [],
      unchanged: false,
    };
  }
  const forbidden: ForbiddenChange[] = [];
  const k = (p: ClusterPlan) => p.kubernetes;
  setting(forbidden, 'spec.platform', deployed.platform.name, desired.platform.name, NEW_CLUSTER);
  setting(
    forbidden,
    'spec.platform.*.network.cidr',
    deployed.network.cidr,
    desired.network.cidr,
    NEW_CLUSTER,
  );
  setting(
    forbidden,
    'spec.platform.*.network.gateway',
    deployed.network.gateway,
    desired.network.gateway,
    NEW_CLUSTER,
  );
  setting(forbidden, 'spec.kubernetes.podSubnet', k(deployed).podSubnet, k(desired).podSubnet, NEW_CLUSTER);
  setting(
    forbidden,
    'spec.kubernetes.serviceSubnet',
    k(deployed).serviceSubnet,
    k(desired).serviceSubnet,
    NEW_CLUSTER,
  );
  setting(forbidden, 'spec.kubernetes.dnsDomain', k(deployed).dnsDomain, k(desired).dnsDomain, NEW_CLUSTER);
  setting(
    forbidden,
    'spec.kubernetes.controlPlaneEndpoint',
    `${k(deployed).controlPlaneEndpoint.host}:${k(deployed).controlPlaneEndpoint.port}`,
    `${k(desired).controlPlaneEndpoint.host}:${k(desired).controlPlaneEndpoint.port}`,
    'every node and certificate refers to it: deploy a new cluster to change it',
  );
  setting(
    forbidden,
    'spec.runtime',
    deployed.runtime.name,
    desired.runtime.name,
    'existing nodes keep the runtime they were built with; deploy a new cluster to change it',
  );
  setting(
    forbidden,
    'spec.network.plugin',
    deployed.network.plugin,
    desired.network.plugin,
    'replacing the network plugin of a running cluster disrupts every pod; nkd does not do it in place',
  );
  setting(
    forbidden,
    'spec.kubernetes.version',
    k(deployed).version,
    k(desired).version,
    'Kubernetes versions change with `nkd upgrade <name> --kube-version`, node by node',
  );
  setting(
    forbidden,
    'spec.os.releaseImage',
    deployed.os.releaseImage,
    desired.os.releaseImage,
    'the OS image changes with `nkd upgrade <name> --os-image`, node by node',
  );

  vipChanges(deployed, desired, forbidden);
  const settingNotes = platformSettingChanges(deployed, desired, forbidden);

  const before = new Map(deployed.nodes.map((n) => [n.name, n]));
  const after = new Map(desired.nodes.map((n) => [n.name, n]));
  const add = desired.nodes.filter((n) => !before.has(n.name));
  const remove = deployed.nodes.filter((n) => !after.has(n.name));
  const resize: NodeChange[] = [];
  for (const node of desired.nodes) {
    const old = before.get(node.name);
    if (!old) continue;
    if (old.address !== node.address || old.role !== node.role) {
      forbidden.push({
        path: `node ${node.name}`,
        before: `${old.role} ${old.address}`,
        after: `${node.role} ${node.address}`,
        why: 'an existing node never changes its address or role; fix addresses with controlPlane/workers.hosts entries',
      });
      continue;
    }
    // A platform that sizes nodes itself (a flavor) does not use cpus/memory/disk: nothing to resize.
    if (desired.platform.nodeSizing === 'platform') continue;
    const changes: string[] = [];
    if (old.cpus !== node.cpus) changes.push(`cpus ${old.cpus} → ${node.cpus}`);
    if (old.memoryMiB !== node.memoryMiB) changes.push(`memory ${old.memoryMiB} → ${node.memoryMiB} MiB`);
    if (old.diskGiB !== node.diskGiB) changes.push(`disk ${old.diskGiB} → ${node.diskGiB} GiB`);
    if (old.diskGiB > node.diskGiB) {
      forbidden.push({
        path: `node ${node.name}`,
        before: `${old.diskGiB} GiB`,
        after: `${node.diskGiB} GiB`,
        why: 'a disk never shrinks',
      });
    }
    if (changes.length > 0) resize.push({ name: node.name, role: node.role, changes });
  }

  const cpBefore = deployed.nodes.filter((n) => n.role === 'control-plane').length;
  const notes = [...controlPlaneNotes(cpBefore, cpAfter, resize), ...settingNotes];
  const unchanged =
    forbidden.length === 0 &&
    add.length === 0 &&
    remove.length === 0 &&
    resize.length === 0 &&
    settingNotes.length === 0;
  return {
    firstDeploy: false,
    add,
    remove,
    resize,
    controlPlane: { before: cpBefore, after: cpAfter },
    forbidden,
    notes,
    unchanged,
  };
}

/**
 * Platform settings recorded in both plans (plans of older nkd versions have none): a `refuse` setting
 * that changed is forbidden, a `new-nodes-only` one is a note.
 */
function platformSettingChanges(
  deployed: ClusterPlan,
  desired: ClusterPlan,
  forbidden: ForbiddenChange[],
): string[] {
  const old = deployed.platform.settings;
  if (old === undefined || deployed.platform.name !== desired.platform.name) return [];
  const notes: string[] = [];
  for (const now of desired.platform.settings ?? []) {
    const was = old.find((s) => s.path === now.path);
    if (was === undefined || was.value === now.value) continue;
    if (now.onChange === 'refuse') setting(forbidden, now.path, was.value, now.value, now.why);
    else notes.push(`${now.path} ${was.value} → ${now.value}: ${now.why}`);
  }
  return notes;
}

function controlPlaneNotes(before: number, after: number, resize: NodeChange[]): string[] {
  const notes: string[] = [];
  const quorum = (n: number) => Math.floor(n / 2) + 1;
  if (after > before) {
    notes.push(
      `control plane grows ${before} → ${after}: the new members join etcd one at a time (quorum ${quorum(before)} → ${quorum(after)})`,
    );
  }
  if (after < before) {
    notes.push(
      `control plane shrinks ${before} → ${after}: each removed node's etcd member is removed first (quorum ${quorum(before)} → ${quorum(after)}); the cluster then tolerates ${after - quorum(after)} control-plane failure(s)`,
    );
  }
  if (after !== before && after % 2 === 0)
    notes.push(
      `${after} control-plane nodes tolerate no more failures than ${after - 1}: prefer an odd number`,
    );
  const cpResized = resize.filter((r) => r.role === 'control-plane').length;
  if (cpResized > 0)
    notes.push(
      `${cpResized} control-plane node(s) are resized: each restarts, one at a time, etcd quorum kept`,
    );
  return notes;
}

/** The diff as lines for people. */
export function formatDiff(diff: ClusterDiff, cluster: string): string[] {
  if (diff.firstDeploy) {
    const cp = diff.add.filter((n) => n.role === 'control-plane').length;
    return [
      `Cluster ${cluster} is new: creates ${cp} control-plane and ${diff.add.length - cp} worker node(s).`,
    ];
  }
  if (diff.unchanged) return [`Cluster ${cluster}: nothing to do, the deployed cluster matches the config.`];
  const lines = [`Changes to cluster ${cluster}:`];
  for (const n of diff.add) lines.push(`  + add ${n.role} ${n.name} (${n.address})`);
  for (const n of diff.remove) {
    lines.push(
      `  - remove ${n.role} ${n.name} (${n.address})${n.role === 'worker' ? ': cordoned and drained first' : ''}`,
    );
  }
  for (const r of diff.resize) lines.push(`  ~ resize ${r.role} ${r.name}: ${r.changes.join(', ')}`);
  for (const note of diff.notes) lines.push(`  ! ${note}`);
  for (const f of diff.forbidden) lines.push(`  ✖ ${f.path}: ${f.before} → ${f.after}: ${f.why}`);
  return lines;
}
