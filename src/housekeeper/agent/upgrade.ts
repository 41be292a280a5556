// The upgrade steps after the drain: the OS (rpm-ostree rebase, reboot), Kubernetes (kubeadm upgrade,
// kubelet restart) and the verification that ends in `done`. Each looks at the node and host first, so a
// step that already happened (before a reboot, before the agent restarted) is not done again, and each
// records its phase before its first side effect.

import type { NodeObject } from '../types.js';
import type { StepContext, StepResult } from './context.js';
import {
  isControlPlaneNode,
  kubeadmPatchesArgs,
  pendingBinaryVersion,
  readOsStatus,
  type OsStatus,
  rebaseReference,
  runHost,
  sameImage,
  staticPodVersion,
  tryHost,
} from './host.js';
import { StepFailure } from './progress.js';
import { kubeletSkewProblem } from './skew.js';

/** After `systemctl reboot`, how long the old deployment may still be the booted one before giving up. */
export const REBOOT_TIMEOUT_MS = 15 * 60_000;
/** How long the node has to come back Ready at the target versions. */
export const VERIFY_TIMEOUT_MS = 10 * 60_000;

function describeImage(image: string): string {
  return image === '' ? 'a deployment not booted from a container image' : image;
}

function minutes(ms: number): string {
  return `${Math.round(ms / 60_000)} minutes`;
}

export async function upgradeOs(ctx: StepContext): Promise<StepResult> {
  const { os, progress, target, host } = ctx;
  const want = target.osImageURL;
  if (progress.phase === 'rebooting') {
    if (sameImage(os.booted, want)) return 'next';
    if (sameImage(os.pending, want)) {
      // Still the old boot: the reboot is under way, or it never started (an inhibitor, a hung unit).
      const waited = ctx.now().getTime() - progress.phaseStartedMs;
      if (waited < REBOOT_TIMEOUT_MS) return 'rebooting';
      throw new StepFailure(
        `the node did not reboot into ${want} within ${minutes(REBOOT_TIMEOUT_MS)}: ` +
          `still on ${describeImage(os.booted)} with the target staged`,
      );
    }
    // The new deployment is neither booted nor next: it failed to finalize or to boot, and the
    // bootloader fell back. Rebasing again blindly would loop; a person has to look.
    throw new StepFailure(`rebooted but still on ${describeImage(os.booted)}, not ${want}`);
  }
  if (!want || sameImage(os.booted, want)) return 'next';

  // Resuming a kubeadm run from the staged deployment: it is still staged, run kubeadm again (idempotent).
  const resumingKubeadm = progress.phase === 'upgrading-kubernetes' && sameImage(os.pending, want);
  if (progress.phase !== 'upgrading-os' && !resumingKubeadm) await progress.enter('upgrading-os');
  let staged = os;
  if (sameImage(os.pending, want)) {
    ctx.log(`${want} is already staged for the next boot`);
  } else {
    // --experimental: rpm-ostree releases before container images became stable (2022) refuse a
    // container reference without it; later ones accept and ignore it.
    ctx.log(`rebasing onto ${want}`);
    await runHost(host, ['rpm-ostree', 'rebase', '--experimental', rebaseReference(want)]);
    const after = await readOsStatus(host);
    if (!sameImage(after.pending, want)) {
      throw new StepFailure(
        `rpm-ostree rebase succeeded but the next boot is ${describeImage(after.pending ?? after.booted)}, ` +
          `not ${want}`,
      );
    }
    staged = after;
  }
  const versions = await checkPendingVersions(ctx, staged);
  const kubeadm = await stagedKubeadm(ctx, staged, versions);
  if (kubeadm) {
    if (progress.phase !== 'upgrading-kubernetes')
      await progress.enter('upgrading-kubernetes', { kubeadm: 'staged' });
    ctx.log(`running ${kubeadm.join(' ')} from the staged deployment, before the reboot`);
    try {
      await runHost(host, kubeadm);
    } catch (err) {
      // Unstaged, so that no later reboot (any shutdown finalizes a staged deployment) boots the image
      // half-done: the node stays on its OS, and a failed `upgrade apply` rolled its static pods back.
      await tryHost(host, ['rpm-ostree', 'cleanup', '--pending']);
      throw err;
    }
  }
  await progress.enter('rebooting', kubeadm ? { kubeadm: 'done' } : {});
  ctx.log('rebooting into the new deployment');
  await runHost(host, ['systemctl', 'reboot']);
  // systemctl only queues the reboot; the next pass (if this process lives that long) waits for it.
  return 'rebooting';
}

/**
 * Before booting the staged image: with a Kubernetes target it must carry that kubeadm (after the reboot
 * would strand the node on an image that cannot finish); without one, its kubelet must not be newer than
 * the API server (an OS-only Update must not upgrade the kubelet past the control plane). A refused
 * image is removed again (`rpm-ostree cleanup --pending`), so the node boots what it runs now.
 */
async function checkPendingVersions(ctx: StepContext, os: OsStatus): Promise<PendingVersions> {
  const { target, host } = ctx;
  let problem: string | undefined;
  const versions: PendingVersions = {};
  if (target.kubeVersion) {
    const kubeadm = await pendingBinaryVersion(host, os, 'kubeadm');
    if (kubeadm) versions.kubeadm = kubeadm;
    if (kubeadm && kubeadm !== target.kubeVersion) {
      problem = `it carries kubeadm ${kubeadm}, and the target is ${target.kubeVersion}`;
    }
  } else {
    const kubelet = await pendingBinaryVersion(host, os, 'kubelet');
    if (kubelet) versions.kubelet = kubelet;
    if (kubelet) problem = kubeletSkewProblem(await ctx.kube.serverVersion(), kubelet);
    if (problem) problem += '; ask for kubeVersion in the same Update';
  }
  if (!problem) return versions;
  await runHost(host, ['rpm-ostree', 'cleanup', '--pending']);
  throw new StepFailure(`not booting ${target.osImageURL}: ${problem}`);
}

/** What checkPendingVersions read from the staged deployment (unset: not asked, or not readable). */
interface PendingVersions {
  kubeadm?: string;
  kubelet?: string;
}

/**
 * The kubeadm step to run from the staged deployment before rebooting into it, so that the new kubelet
 * never starts beside an older API server or with the old kubelet configuration:
 * - with a Kubernetes target, the staged kubeadm (checked to be that version) runs `upgrade apply` on
 *   the first control plane and `upgrade node` elsewhere, while the old kubelet still runs (a kubelet
 *   older than its API server is allowed; the reboot then brings the new one);
 * - for an OS image that changes the kubelet's version (an OS-only Update; never past the API server,
 *   checkPendingVersions saw to that), the kubelet's configuration is brought to the new kubelet:
 *   `upgrade node` on a worker, only its `kubelet-config` phase on a control plane (its static pods stay
 *   at the cluster's version).
 * Undefined when there is nothing to do, or when the staged binaries cannot be read: then kubeadm runs
 * after the reboot, from the booted image, as before.
 */
async function stagedKubeadm(
  ctx: StepContext,
  os: OsStatus,
  versions: PendingVersions,
): Promise<string[] | undefined> {
  if (!os.pendingRoot) return undefined;
  const kubeadm = `${os.pendingRoot}/usr/bin/kubeadm`;
  const want = ctx.target.kubeVersion;
  if (want) {
    if (versions.kubeadm !== want) return undefined;
    return [kubeadm, ...upgradeArgs(ctx, want), ...(await kubeadmPatchesArgs(ctx.host))];
  }
  const now = kubeletVersion(ctx.node);
  if (!versions.kubelet || !now || versions.kubelet === now) return undefined;
  if (!(await pendingBinaryVersion(ctx.host, os, 'kubeadm'))) return undefined;
  // The kubelet-config phase writes no static pods: no patches for it.
  if (isControlPlane(ctx)) return [kubeadm, 'upgrade', 'node', 'phase', 'kubelet-config'];
  return [kubeadm, 'upgrade', 'node', ...(await kubeadmPatchesArgs(ctx.host))];
}

/** `upgrade apply` on the first control plane, `upgrade node` elsewhere (kubeadm's flags follow). */
function upgradeArgs(ctx: StepContext, want: string): string[] {
  return ctx.target.firstControlPlane ? ['upgrade', 'apply', want, '--yes'] : ['upgrade', 'node'];
}

function kubeletVersion(node: NodeObject): string | undefined {
  return node.status?.nodeInfo?.kubeletVersion;
}

function isControlPlane(ctx: StepContext): boolean {
  return ctx.target.firstControlPlane || isControlPlaneNode(ctx.node);
}

/**
 * Whether kubeadm already did its part here. The kubelet's version alone does not say so: on NestOS the
 * kubelet comes with the OS image, so after a rebase it reports the new version although no `kubeadm
 * upgrade` ran. It counts only when this target leaves the OS alone, and on a control-plane node the
 * static pods kubeadm writes must be at the target too.
 */
async function kubernetesAtTarget(ctx: StepContext, want: string): Promise<boolean> {
  if (kubeletVersion(ctx.node) !== want || ctx.target.osImageURL) return false;
  return !isControlPlane(ctx) || (await staticPodVersion(ctx.host)) === want;
}

export async function upgradeKubernetes(ctx: StepContext): Promise<StepResult> {
  const { progress, target, host } = ctx;
  if (progress.current?.kubeadm === 'done') {
    ctx.log('kubeadm ran from the staged deployment before the reboot: nothing left to do');
    return 'next';
  }
  const want = target.kubeVersion;
  if (!want) return 'next';
  // Resuming inside this step means a kubeadm run may have been cut short: run it again, which kubeadm
  // documents as the way to recover (`kubeadm upgrade` is idempotent).
  if (progress.phase !== 'upgrading-kubernetes') {
    if (await kubernetesAtTarget(ctx, want)) {
      ctx.log(`Kubernetes is already ${want} here: no kubeadm upgrade`);
      return 'next';
    }
    await progress.enter('upgrading-kubernetes');
  }
  // kubeadm refuses most version skews itself, but not all of them clearly: check what the image brings.
  const kubeadm = (await runHost(host, ['kubeadm', 'version', '-o', 'short'])).trim();
  if (kubeadm !== want) {
    throw new StepFailure(
      `kubeadm on the node is ${kubeadm || 'unknown'}, the target is ${want}: the node's OS image must ` +
        `carry kubeadm ${want} (upgrade the OS with osImageURL to such an image)`,
    );
  }
  // No `kubeadm upgrade plan` first: it only reports, and `apply` runs the same preflight checks.
  // With nkd's probe patches on this host, so that the rewritten static pods keep them.
  const command = ['kubeadm', ...upgradeArgs(ctx, want), ...(await kubeadmPatchesArgs(host))];
  ctx.log(`running ${command.join(' ')}`);
  await runHost(host, command);
  await runHost(host, ['systemctl', 'restart', 'kubelet']);
  return 'next';
}

/** Ready at the target versions, then uncordon (only the agent's own cordon) and only then `done`. */
export async function verify(ctx: StepContext): Promise<StepResult> {
  const { progress, target, kube, nodeName } = ctx;
  if (progress.phase !== 'verifying') await progress.enter('verifying');
  // Read again: the kubelet may have restarted during this pass.
  const node = (await kube.getNode(nodeName)) ?? ctx.node;
  const waitingFor: string[] = [];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') waitingFor.push('the node to be Ready');
  const kubelet = kubeletVersion(node);
  if (target.kubeVersion && kubelet !== target.kubeVersion) {
    waitingFor.push(`the kubelet to report ${target.kubeVersion} (it reports ${kubelet ?? 'nothing'})`);
  }
  if (target.osImageURL && !sameImage(ctx.os.booted, target.osImageURL)) {
    waitingFor.push(`the OS image ${target.osImageURL} (booted: ${describeImage(ctx.os.booted)})`);
  }
  if (waitingFor.length === 0) {
    if (progress.current?.cordonedByAgent) {
      ctx.log('uncordoning the node');
      // false rather than null (which would drop the field): MergePatch<NodeObject> does not type a null
      // inside the optional spec, and the API treats both the same.
      await kube.patchNode(nodeName, { spec: { unschedulable: false } });
    }
    await progress.enter('done', { finishedAt: ctx.now().toISOString() });
    return 'done';
  }
  const reasons = waitingFor.join('; ');
  if (ctx.now().getTime() - progress.phaseStartedMs >= VERIFY_TIMEOUT_MS) {
    throw new StepFailure(`not verified within ${minutes(VERIFY_TIMEOUT_MS)}: still waiting for ${reasons}`);
  }
  await progress.note({ message: `waiting for ${reasons}` });
  return 'verifying';
}
