// The end-to-end upgrade step: `nkd upgrade --kube-version --os-image --wait` on a cluster deployed from
// the testnode-upgrade image (the previous Kubernetes patch), then checked from the outside: every node
// Ready on the new kubelet, uncordoned and booted from the new "OS image" (the rpm-ostree stand-in, docs/testnode.md),
// the API server on the new version, and the workload still available after each node's drain.
import { OS_IMAGE_ANNOTATION, type UpdateStatus } from '../../src/housekeeper/types.js';
import { nodes, waitDeploymentAvailable, waitNodesReady } from './checks.js';
import { WORKLOAD_NAMESPACE } from './workload.js';
import type { E2eWorld, UpgradeTools } from './world.js';

const MIN = 60_000;
/**
 * How long `nkd upgrade --wait` may take: each node, one after the other, drains, runs kubeadm and
 * reboots under TCG (a control plane took 17-18 min, a worker 4-5, with 2 guests on 2 cores).
 */
export function upgradeTimeoutMinutes(nodeCount: number): number {
  return Math.max(60, 25 * nodeCount);
}

/** The stand-in "OS image" of VERSION that scripts/images/build.sh pushed under MIRROR (host:port/path). */
export function osImageFor(mirror: string, version: string): string {
  return `${mirror}/nestos/testnode:${version}`;
}

/** What scripts/images/build.sh needs to push the previous version's images as well (docs/air-gap.md). */
export function imagesEnvForUpgrade(upgrade: UpgradeTools): Record<string, string> {
  return { NKD_IMAGES_KUBE_BINS: upgrade.prevKubeBin, NKD_IMAGES_TESTNODE: '1' };
}

interface UpgradeEvent {
  type?: string;
  message?: string;
  completed?: boolean;
  status?: UpdateStatus;
}

/** Each node's upgrade time (drain, kubeadm, reboot, verification), from the completed Update's status. */
export function upgradeFigures(status: UpdateStatus | undefined): string[] {
  const seconds = (from?: string, to?: string) =>
    from && to ? ((Date.parse(to) - Date.parse(from)) / 1000).toFixed(0) : '?';
  const lines = (status?.nodes ?? []).map(
    (n) => `upgrade: ${n.name} (${n.role}) took ${seconds(n.startedAt, n.finishedAt)} s`,
  );
  if (status?.startedAt && status.completedAt)
    lines.push(`upgrade: whole rollout took ${seconds(status.startedAt, status.completedAt)} s`);
  return lines;
}

/** nkd's --json lines (other output, if any, is not JSON and is skipped). */
function events(out: string): UpgradeEvent[] {
  return out.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as UpgradeEvent];
    } catch {
      return [];
    }
  });
}

/**
 * Upgrades cluster NAME to `w.tools.upgrade.toVersion` with the OS image of that version under MIRROR
 * and checks the outcome; `note` gets each node's progress line. Resolves with the upgraded node names.
 */
export async function upgradeStep(
  w: E2eWorld,
  name: string,
  mirror: string,
  note: (message: string) => void,
): Promise<string[]> {
  const upgrade = w.tools.upgrade;
  if (!upgrade)
    throw new Error('no upgrade image: run `npm run tools -- kube-prev testnode-upgrade` (as root)');
  const to = upgrade.toVersion;
  const osImage = osImageFor(mirror, to);
  const before = await nodes(w);
  const minutes = upgradeTimeoutMinutes(before.length);
  const args = ['upgrade', name, '--kube-version', to, '--os-image', osImage];
  const r = await w.nkd('upgrade', [...args, '--wait', '--timeout', `${minutes}m`, '--json'], {
    onLine: (line) => {
      const [event] = events(line);
      if (event?.type === 'node' && event.message) note(`upgrade: ${event.message}`);
    },
    timeoutMs: (minutes + 5) * MIN,
  });
  const result = events(r.out).findLast((e) => e.type === 'result');
  if (r.exitCode !== 0 || result?.completed !== true) {
    const tail = r.out.trim().split('\n').slice(-20).join('\n');
    throw new Error(`nkd ${args.join(' ')} --wait exited ${r.exitCode}:\n${tail}`);
  }

  const names = await waitNodesReady(w, before.length, 20 * MIN);
  const wrong = (await nodes(w)).flatMap((n) => {
    const kubelet = n.status.nodeInfo.kubeletVersion;
    const booted = n.metadata.annotations?.[OS_IMAGE_ANNOTATION];
    return [
      ...(kubelet === to ? [] : [`${n.metadata.name}: kubelet ${kubelet}`]),
      ...(booted === osImage ? [] : [`${n.metadata.name}: booted ${booted ?? 'unreported'}`]),
      // Each node's agent lifts its own cordon before it reports done.
      ...(n.spec?.unschedulable === true ? [`${n.metadata.name}: still cordoned`] : []),
    ];
  });
  if (wrong.length) throw new Error(`not upgraded to ${to} / ${osImage}: ${wrong.join('; ')}`);
  const server = JSON.parse(await w.kubectl(['get', '--raw', '/version'])) as { gitVersion?: string };
  if (server.gitVersion !== to) throw new Error(`the API server reports ${server.gitVersion}, not ${to}`);
  await waitDeploymentAvailable(w, WORKLOAD_NAMESPACE, 'web', 5 * MIN);
  note(`every node runs kubelet ${to} booted from ${osImage}, uncordoned; the API server is ${to}`);
  for (const line of upgradeFigures(result?.status)) note(`figure: ${line}`);
  return names;
}
