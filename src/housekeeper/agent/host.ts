// What the agent asks of its host, and how it reads the answers: rpm-ostree's deployments, kubeadm's
// version, the static pod manifests. Every command goes through the HostExecutor (production: chroot
// into the host's root), so the tests can script the host command by command.

import { KUBEADM_PATCHES_DIR, kubeadmPatchFileName } from '../../lib/kubeadm-patches-dir.js';
import type { HostExecutor, NodeObject } from '../types.js';

/** A host command that exited non-zero. The agent records it as the node's lastError and stops. */
export class HostCommandError extends Error {
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number,
    readonly reason: string,
  ) {
    super(`${command.join(' ')}: ${reason || `exited with ${exitCode}`}`);
    this.name = 'HostCommandError';
  }
}

/**
 * kubeadm ends every failure with this advice, after the line that says what failed (seen on the first
 * real upgrade: the agent reported only the advice).
 */
const KUBEADM_STACK_TRACE_ADVICE = /^To see the stack trace of this error execute with --v=5 or higher$/;

/** kubeadm's preflight lists each failed check on its own `[ERROR Name]: why` line before its summary. */
const KUBEADM_CHECK_ERROR = /^\[ERROR [^\]]+\]:/;

/** A node's lastError is a status field shown in `nkd status`: long enough for a few checks, not a log. */
const MAX_REASON_LENGTH = 1500;

/**
 * Why a host command failed, from its stderr: kubeadm's failed preflight checks (its last line only says
 * "preflight checks failed", seen on the first real upgrade), then the last non-empty line that says
 * something, where kubeadm and rpm-ostree put the reason.
 */
export function failureReason(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !KUBEADM_STACK_TRACE_ADVICE.test(l));
  const last = lines.at(-1) ?? '';
  const checks = lines.filter((l) => KUBEADM_CHECK_ERROR.test(l) && l !== last);
  const reason = [last, ...checks].filter((l) => l !== '').join('; ');
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason;
}

export async function runHost(host: HostExecutor, command: readonly string[]): Promise<string> {
  const result = await host.run(command);
  if (result.exitCode !== 0)
    throw new HostCommandError(command, result.exitCode, failureReason(result.stderr));
  return result.stdout;
}

export async function tryHost(host: HostExecutor, command: readonly string[]): Promise<string | undefined> {
  const result = await host.run(command);
  return result.exitCode === 0 ? result.stdout : undefined;
}

// ------------------------------------------------------------------------------------------ OS images

/**
 * The image name inside an ostree container reference, without its transport:
 * `ostree-unverified-registry:R`, `ostree-remote-registry:REMOTE:R`, and `ostree-unverified-image:T`,
 * `ostree-image-signed:T`, `ostree-remote-image:REMOTE:T` where T is `docker://R` or `registry:R`
 * all give R. A reference without an `ostree-` prefix is already a plain image name and is kept.
 * Other containers transports (`oci:/path`) keep their transport, so they never equal a registry image.
 */
export function imageName(reference: string): string {
  const ref = reference.trim();
  const shorthand = /^ostree-(?:unverified-registry|remote-registry:[^:]+):(.+)$/.exec(ref);
  if (shorthand?.[1]) return shorthand[1];
  const full = /^ostree-(?:unverified-image|image-signed|remote-image:[^:]+):(.+)$/.exec(ref);
  if (!full?.[1]) return ref;
  const rest = full[1];
  for (const transport of ['docker://', 'registry:']) {
    if (rest.startsWith(transport)) return rest.slice(transport.length);
  }
  return rest;
}

export function sameImage(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a !== '' && imageName(a) === imageName(b);
}

/**
 * What `rpm-ostree rebase` is given for an Update's osImageURL. A reference that already names an ostree
 * transport is used as written, so a cluster that signs its images can ask for `ostree-image-signed:` or
 * `ostree-remote-registry:`. A plain image name is fetched unverified (TLS to the registry still applies),
 * as NestOS's own documentation does.
 */
export function rebaseReference(osImageURL: string): string {
  return osImageURL.startsWith('ostree-') ? osImageURL : `ostree-unverified-registry:${osImageURL}`;
}

export interface OsStatus {
  /** Image name of the booted deployment; '' when it was not deployed from a container image. */
  booted: string;
  /** Image name of the deployment the next boot starts, when that is not the booted one. */
  pending?: string;
  /** Where that pending deployment's root is on the host (to read the versions it carries). */
  pendingRoot?: string;
}

interface RpmOstreeDeployment {
  booted?: boolean;
  'container-image-reference'?: string;
  osname?: string;
  checksum?: string;
  serial?: number;
}

/** ostree's layout: /ostree/deploy/<osname>/deploy/<checksum>.<serial> is a deployment's root. */
function deploymentRoot(d: RpmOstreeDeployment): string | undefined {
  const { osname, checksum, serial } = d;
  if (!osname || !checksum || typeof serial !== 'number') return undefined;
  if (!/^[\w.-]+$/.test(osname) || !/^[0-9a-f]+$/.test(checksum)) return undefined;
  return `/ostree/deploy/${osname}/deploy/${checksum}.${serial}`;
}

/**
 * `rpm-ostree status --json`. ostree lists deployments in boot order, so the first one is what the next
 * boot starts: when it is not the booted one it is the pending (staged or freshly deployed) deployment.
 */
export function parseOsStatus(json: string): OsStatus {
  let parsed: { deployments?: RpmOstreeDeployment[] };
  try {
    parsed = JSON.parse(json) as { deployments?: RpmOstreeDeployment[] };
  } catch {
    throw new Error('rpm-ostree status --json printed something that is not JSON');
  }
  const deployments = Array.isArray(parsed.deployments) ? parsed.deployments : [];
  const image = (d: RpmOstreeDeployment | undefined) => imageName(d?.['container-image-reference'] ?? '');
  const first = deployments[0];
  const pendingRoot = first && first.booted !== true ? deploymentRoot(first) : undefined;
  return {
    booted: image(deployments.find((d) => d.booted === true)),
    ...(first && first.booted !== true && { pending: image(first) }),
    ...(pendingRoot && { pendingRoot }),
  };
}

export const RPM_OSTREE_STATUS = ['rpm-ostree', 'status', '--json'] as const;

export async function readOsStatus(host: HostExecutor): Promise<OsStatus> {
  return parseOsStatus(await runHost(host, RPM_OSTREE_STATUS));
}

/**
 * The version a binary of the pending deployment reports (`kubeadm version -o short`, `kubelet
 * --version`), run from that deployment's root before booting it; undefined when it cannot be read.
 */
export async function pendingBinaryVersion(
  host: HostExecutor,
  os: OsStatus,
  binary: 'kubeadm' | 'kubelet',
): Promise<string | undefined> {
  if (!os.pendingRoot) return undefined;
  const path = `${os.pendingRoot}/usr/bin/${binary}`;
  const out = await tryHost(
    host,
    binary === 'kubeadm' ? [path, 'version', '-o', 'short'] : [path, '--version'],
  );
  return /v\d+\.\d+\.\d+\S*/.exec(out ?? '')?.[0];
}

// ------------------------------------------------------------------------------------- Kubernetes

const MANIFESTS = '/etc/kubernetes/manifests';
// kubeadm labels control planes `control-plane`; `master` is the label it used before 1.24.
export const CONTROL_PLANE_LABELS = [
  'node-role.kubernetes.io/control-plane',
  'node-role.kubernetes.io/master',
];

export function isControlPlaneNode(node: NodeObject): boolean {
  const labels = node.metadata.labels ?? {};
  return CONTROL_PLANE_LABELS.some((label) => Object.hasOwn(labels, label));
}
const CONTROL_PLANE_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/**
 * The Kubernetes version of this node's control-plane static pods, when all three run the same one;
 * undefined when a manifest is missing or they differ (an upgrade cut short). kubeadm tags each image
 * with the cluster's kubernetesVersion, so this tells whether `kubeadm upgrade` already ran here.
 */
export async function staticPodVersion(host: HostExecutor): Promise<string | undefined> {
  const files = CONTROL_PLANE_COMPONENTS.map((c) => `${MANIFESTS}/${c}.yaml`);
  const text = await tryHost(host, ['cat', ...files]);
  if (text === undefined) return undefined;
  const versions = CONTROL_PLANE_COMPONENTS.map(
    (c) => new RegExp(`^\\s*(?:-\\s+)?image:\\s*["']?\\S*/${c}:(v[0-9][^\\s"'@]*)`, 'm').exec(text)?.[1],
  );
  const [first] = versions;
  return first && versions.every((v) => v === first) ? first : undefined;
}

/**
 * `--patches <dir>` when nkd rendered kubeadm patches on this host (a control plane of a cluster with a
 * probeTolerance above 1), else nothing. `kubeadm upgrade apply|node` rewrite the static pods from
 * kubeadm's defaults unless given the patches again, and fail on a directory that is not there, so the
 * flag is passed only where the API server's patch can be read.
 */
export async function kubeadmPatchesArgs(host: HostExecutor): Promise<string[]> {
  const probe = `${KUBEADM_PATCHES_DIR}/${kubeadmPatchFileName('kube-apiserver')}`;
  const patch = await tryHost(host, ['cat', probe]);
  return patch === undefined ? [] : ['--patches', KUBEADM_PATCHES_DIR];
}
