// Housekeeper's install manifests as objects for server-side apply: the parsed templates with the image
// and nkd's labels set, in an order where everything exists before what refers to it.
import type { KubeObject, WorkloadRef } from '../../cluster/types.js';
import { DEFAULT_IMAGE_REPOSITORY, imageResolver } from '../../config/images.js';
import { parseKubeVersion } from '../../config/versions.js';
import { readHousekeeperTemplates } from './templates.js';
import { apiServerEnv, type ApiServerAddress } from '../api-server-env.js';

export const HOUSEKEEPER_NAMESPACE = 'housekeeper-system';
export const HOUSEKEEPER_CRD_NAME = 'updates.housekeeper.io';
export const HOUSEKEEPER_OPERATOR_DEPLOYMENT = 'housekeeper-operator';
export const HOUSEKEEPER_AGENT_DAEMONSET = 'housekeeper-agent';
export const HOUSEKEEPER_IMAGE_REPOSITORY = 'hub.oepkgs.net/nestos/nkd-housekeeper';

export interface HousekeeperManifestOptions {
  /** Image of the operator and the agent; '' (the config default) means defaultHousekeeperImage. */
  image: string;
  /** kubernetes.imageRepository: the default image comes from it when it is a mirror. */
  imageRepository?: string;
  /** nkd's version, e.g. 0.1.0: the app.kubernetes.io/version label and the default image tag. */
  nkdVersion: string;
  /**
   * The cluster's Kubernetes version (vX.Y.Z). Below 1.30 the admission policies that confine each agent
   * to its own node are left out: admissionregistration.k8s.io/v1 policies and the node claim in
   * service-account tokens arrive in 1.30. Unset: included.
   */
  kubeVersion?: string;
  /**
   * The control-plane endpoint: the operator and the agents talk to it rather than to the kubernetes
   * Service, so that an upgrade's kube-proxy cannot cut them off (api-server-env.ts). Unset: the Service.
   */
  apiServer?: ApiServerAddress;
}

/** The first Kubernetes minor with ValidatingAdmissionPolicy v1 and node-bound service-account tokens. */
export const ADMISSION_POLICY_MIN_MINOR = 30;
const ADMISSION_KINDS = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

/** Whether the agent-confining admission policies can be applied to a cluster of this version. */
export function admissionPoliciesSupported(kubeVersion: string | undefined): boolean {
  if (kubeVersion === undefined) return true;
  const version = parseKubeVersion(kubeVersion);
  if (!version) throw new Error(`housekeeper: "${kubeVersion}" is not a Kubernetes version`);
  return version.major > 1 || version.minor >= ADMISSION_POLICY_MIN_MINOR;
}

// Apply order: the CRD and the Namespace first, then identities, their permissions, the bindings, and
// the workloads last so their pods start with working RBAC.
const KIND_ORDER = [
  'CustomResourceDefinition',
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'Deployment',
  'DaemonSet',
];
const CLUSTER_SCOPED = new Set([
  'CustomResourceDefinition',
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

// Label values: at most 63 characters, alphanumeric at both ends, '-', '_' and '.' inside.
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
// An OCI tag: at most 128 characters, no '+' (so semver build metadata cannot go in as is).
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * nkd's own image of this version: the operator and the agent ship in it as `nkd-housekeeper`. Under a
 * mirror (kubernetes.imageRepository other than the default) it is pulled from the mirror, same path.
 */
export function defaultHousekeeperImage(
  nkdVersion: string,
  imageRepository: string = DEFAULT_IMAGE_REPOSITORY,
): string {
  const tag = `v${nkdVersion.replace(/^v/, '')}`;
  if (!IMAGE_TAG.test(tag) || tag === 'v') {
    throw new Error(`housekeeper: nkd version "${nkdVersion}" does not make a valid image tag`);
  }
  return imageResolver(imageRepository)(`${HOUSEKEEPER_IMAGE_REPOSITORY}:${tag}`);
}

/** The workloads whose rollout `nkd deploy` waits for after applying the manifests. */
export function housekeeperWorkloads(): WorkloadRef[] {
  return [
    { kind: 'Deployment', namespace: HOUSEKEEPER_NAMESPACE, name: HOUSEKEEPER_OPERATOR_DEPLOYMENT },
    { kind: 'DaemonSet', namespace: HOUSEKEEPER_NAMESPACE, name: HOUSEKEEPER_AGENT_DAEMONSET },
  ];
}

function objectId(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind} ${ns ? `${ns}/` : ''}${obj.metadata?.name ?? ''}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The containers (init containers included) of a workload's pod template. */
function containersOf(obj: KubeObject): Record<string, unknown>[] {
  const spec = obj.spec;
  const template = isRecord(spec) ? spec.template : undefined;
  const podSpec = isRecord(template) ? template.spec : undefined;
  if (!isRecord(podSpec) || !Array.isArray(podSpec.containers) || podSpec.containers.length === 0) {
    throw new Error(`housekeeper: template ${objectId(obj)} has no containers`);
  }
  const all = [
    ...podSpec.containers,
    ...(Array.isArray(podSpec.initContainers) ? podSpec.initContainers : []),
  ];
  return all.map((container: unknown) => {
    if (!isRecord(container))
      throw new Error(`housekeeper: template ${objectId(obj)} has a malformed container`);
    return container;
  });
}

/**
 * Checks that the templates are the install the constants above describe, and orders them. Runs once
 * per load, so a template edited out of step with this code fails every call, not just a deploy.
 */
export function checkHousekeeperTemplates(objects: readonly KubeObject[]): KubeObject[] {
  const seen = new Set<string>();
  for (const obj of objects) {
    const id = objectId(obj);
    if (!KIND_ORDER.includes(obj.kind)) throw new Error(`housekeeper: unexpected template object ${id}`);
    if (seen.has(id)) throw new Error(`housekeeper: template object ${id} is defined twice`);
    seen.add(id);
    const namespace = obj.metadata?.namespace;
    if (CLUSTER_SCOPED.has(obj.kind) ? namespace !== undefined : namespace !== HOUSEKEEPER_NAMESPACE) {
      throw new Error(`housekeeper: template object ${id} is in the wrong namespace`);
    }
    if (obj.kind === 'Deployment' || obj.kind === 'DaemonSet') containersOf(obj);
  }
  const required = [
    `CustomResourceDefinition ${HOUSEKEEPER_CRD_NAME}`,
    `Namespace ${HOUSEKEEPER_NAMESPACE}`,
    ...housekeeperWorkloads().map((w) => `${w.kind} ${w.namespace}/${w.name}`),
  ];
  for (const id of required) {
    if (!seen.has(id)) throw new Error(`housekeeper: the templates define no ${id}`);
  }
  const workloads = objects.filter((obj) => obj.kind === 'Deployment' || obj.kind === 'DaemonSet');
  if (workloads.length !== 2) throw new Error('housekeeper: the templates must define exactly two workloads');
  const rank = (obj: KubeObject) => KIND_ORDER.indexOf(obj.kind);
  const name = (obj: KubeObject) => obj.metadata?.name ?? '';
  // Sorted by kind, then name: the order does not depend on how the files are laid out. Plain code-unit
  // comparison, not localeCompare, so the order is the same under every locale.
  return [...objects].sort(
    (a, b) => rank(a) - rank(b) || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0),
  );
}

let cached: readonly KubeObject[] | undefined;

function templates(): readonly KubeObject[] {
  // Parsed and checked once per process; callers get deep copies, so this stays pristine.
  cached ??= checkHousekeeperTemplates(readHousekeeperTemplates());
  return cached;
}

/** Everything `nkd deploy` applies to install Housekeeper, in apply order. Fresh objects on every call. */
export function housekeeperManifests(options: HousekeeperManifestOptions): KubeObject[] {
  return buildHousekeeperManifests(templates(), options);
}

/** housekeeperManifests over given (checked) templates; pure. */
export function buildHousekeeperManifests(
  templateObjects: readonly KubeObject[],
  options: HousekeeperManifestOptions,
): KubeObject[] {
  const { nkdVersion } = options;
  if (!LABEL_VALUE.test(nkdVersion)) {
    throw new Error(`housekeeper: nkd version "${nkdVersion}" is not a valid label value`);
  }
  const image =
    options.image === '' ? defaultHousekeeperImage(nkdVersion, options.imageRepository) : options.image;
  if (/\s/.test(image)) throw new Error(`housekeeper: image "${image}" contains whitespace`);
  const labels = {
    'app.kubernetes.io/part-of': 'housekeeper',
    'app.kubernetes.io/version': nkdVersion,
    'app.kubernetes.io/managed-by': 'nkd',
  };
  const policies = admissionPoliciesSupported(options.kubeVersion);
  const endpointEnv = apiServerEnv(options.apiServer);
  const wanted = templateObjects.filter((obj) => policies || !ADMISSION_KINDS.has(obj.kind));
  return wanted.map((template) => {
    const obj = structuredClone(template) as KubeObject;
    const metadata = obj.metadata ?? {};
    const existing = isRecord(metadata.labels) ? metadata.labels : {};
    obj.metadata = { ...metadata, labels: { ...existing, ...labels } };
    if (obj.kind === 'Deployment' || obj.kind === 'DaemonSet') {
      for (const container of containersOf(obj)) {
        container.image = image;
        if (endpointEnv.length)
          container.env = [...(Array.isArray(container.env) ? container.env : []), ...endpointEnv];
      }
    }
    return obj;
  });
}
