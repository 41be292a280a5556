// The pure conversion of an original NKD config into an nkd config object. Every key of the original
// is either mapped, or reported with where it belongs instead (docs/migrating-from-nkd.md is the
// table). Where the original left a key out, its own default is written explicitly, so the imported
// cluster is the one the original would have built, not nkd's defaults (runtime crio, v1.29.1).
import { isAbsolute, relative, resolve } from 'node:path';
import { API_VERSION, KIND } from '../schema.js';
import { convertAccess } from './access.js';
import { ConvertContext, given, type ConvertOptions } from './context.js';
import { toDnsLabel } from './names.js';
import { convertGroup, withoutSizes } from './nodes.js';
import type { ImportProblem, OriginalConfig } from './original.js';
import { convertPlatform } from './platform.js';
import { convertKubernetes } from './kubernetes.js';

export const ORIGINAL_DEFAULT_NAME = 'cluster';
export const ORIGINAL_DEFAULT_RUNTIME = 'crio';

export interface Conversion {
  /** The nkd config, keys in the order nkd's template uses; undefined when there are errors. */
  config: Record<string, unknown> | undefined;
  problems: ImportProblem[];
  provenance: ReadonlyMap<string, string>;
}

export function convertOriginal(original: OriginalConfig, options: ConvertOptions): Conversion {
  const ctx = new ConvertContext(options);
  const name = clusterName(original, ctx);
  checkNodeOs(original, ctx);
  const platform = platformOf(original, ctx);

  const controlPlane = convertGroup('master', 'controlPlane', original.master ?? [], ctx.problems);
  if (controlPlane.count === 0) {
    ctx.warn('master', 'lists no nodes; nkd deploys one control-plane node with a generated name');
    controlPlane.count = 1;
  }
  const workers = convertGroup('worker', 'workers', original.worker ?? [], ctx.problems);
  for (const [nkd, key] of [
    ['controlPlane', 'master'],
    ['workers', 'worker'],
  ] as const) {
    ctx.from(`spec.${nkd}`, key);
    (nkd === 'controlPlane' ? controlPlane : workers).hosts?.forEach((_, i) => {
      ctx.from(`spec.${nkd}.hosts[${i}]`, `${key}[${i}]`);
      ctx.from(`spec.${nkd}.hosts[${i}].hostname`, `${key}[${i}].hostname`);
      ctx.from(`spec.${nkd}.hosts[${i}].ip`, `${key}[${i}].ip`);
    });
  }

  const { kubernetes, network, os } = convertKubernetes(original.kubernetes ?? {}, ctx);
  const runtime = given(original.runtime)?.toLowerCase() ?? ORIGINAL_DEFAULT_RUNTIME;
  ctx.from('spec.runtime', 'runtime');
  const access = convertAccess(original, ctx);
  const hooks = convertHooks(original.hooks ?? {}, ctx);
  if (certAssetGiven(original.certAsset)) {
    ctx.warn(
      'certAsset',
      'dropped: nkd generates the cluster CAs and keys itself and keeps them in its state directory (0600); bringing your own CA is not supported',
    );
  }
  const platformSection =
    platform === undefined
      ? undefined
      : convertPlatform(platform, original.infraPlatform ?? {}, { controlPlane, workers }, name, ctx);

  const failed = ctx.problems.some((p) => p.severity === 'error');
  const spec = {
    kubernetes,
    runtime,
    network,
    // OpenStack sizes nodes by the flavor (named from these sizes) and refuses sizes in the groups.
    controlPlane: platform === 'openstack' ? withoutSizes(controlPlane) : controlPlane,
    workers: platform === 'openstack' ? withoutSizes(workers) : workers,
    access,
    ...(os === undefined ? {} : { os }),
    ...(hooks === undefined ? {} : { hooks }),
    platform: platform === undefined ? {} : { [platform]: platformSection },
  };
  ctx.from('metadata.name', 'clusterID');
  return {
    config: failed ? undefined : { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec },
    problems: ctx.problems,
    provenance: ctx.provenance,
  };
}

function clusterName(original: OriginalConfig, ctx: ConvertContext): string {
  const id = given(original.clusterID);
  if (id === undefined) {
    ctx.warn(
      'clusterID',
      `is not set; the cluster is named "${ORIGINAL_DEFAULT_NAME}", as the original named it`,
    );
    return ORIGINAL_DEFAULT_NAME;
  }
  const name = toDnsLabel(id, 40);
  if (name === '') {
    ctx.fail('clusterID', `"${id}" has no letters or digits to make a cluster name (a DNS-1123 label) from`);
  } else if (name !== id) {
    ctx.warn(
      'clusterID',
      `"${id}" is not a DNS-1123 label of at most 40 characters; metadata.name is "${name}"`,
    );
  }
  return name;
}

function checkNodeOs(original: OriginalConfig, ctx: ConvertContext): void {
  const arch = given(original.architecture)?.toLowerCase();
  if (arch !== undefined && arch !== 'amd64' && arch !== 'x86_64') {
    ctx.fail('architecture', `"${arch}" is not supported: nkd deploys x86_64 (amd64) nodes only`);
  }
  const type = given(original.osImage?.type)?.toLowerCase();
  if (type === 'generalos') {
    ctx.fail(
      'osImage.type',
      'generalos is not supported: nkd deploys NestOS nodes configured by Ignition; it has no cloud-init/kickstart and RPM install path',
    );
  } else if (type !== undefined && type !== 'nestos') {
    ctx.fail('osImage.type', `"${type}" is not an NKD OS type; nkd deploys NestOS`);
  }
}

function platformOf(original: OriginalConfig, ctx: ConvertContext): 'libvirt' | 'openstack' | undefined {
  const platform = given(original.platform)?.toLowerCase();
  if (platform === undefined) {
    ctx.fail('platform', 'is not set; nkd needs libvirt or openstack');
    return undefined;
  }
  if (platform === 'libvirt' || platform === 'openstack') return platform;
  if (platform === 'pxe' || platform === 'ipxe') {
    ctx.fail(
      'platform',
      `${platform} is not supported: nkd deploys on libvirt or openstack only (it has no bare-metal PXE/iPXE install)`,
    );
  } else {
    ctx.fail('platform', `"${platform}" is not a platform; nkd supports libvirt and openstack`);
  }
  return undefined;
}

function certAssetGiven(value: unknown): boolean {
  if (typeof value === 'string') return value.trim() !== '';
  if (Array.isArray(value)) return value.some(certAssetGiven);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(certAssetGiven);
  return value !== undefined && value !== null && value !== false;
}

function list(value: string | string[] | undefined): string[] {
  const items = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return items.map((v) => v.trim()).filter((v) => v !== '');
}

function convertHooks(
  hooks: NonNullable<OriginalConfig['hooks']>,
  ctx: ConvertContext,
): { postDeploy: string[] } | undefined {
  for (const script of list(hooks.preHookScript)) {
    ctx.warn(
      'hooks.preHookScript',
      `"${script}" not carried over: the original ran it on the nodes, while nkd's spec.hooks.preDeploy runs local executables on this machine before provisioning; add it there only if it is meant to run locally`,
    );
  }
  const postDeploy: string[] = [];
  for (const item of list(hooks.postHookYaml)) {
    if (item.includes('\n') || /^[\w.-]+:\s/.test(item)) {
      ctx.warn(
        'hooks.postHookYaml',
        'is an inline manifest: save it to a file and list that in spec.hooks.postDeploy (manifests applied after deploy)',
      );
      continue;
    }
    postDeploy.push(rebase(item, ctx));
  }
  if (postDeploy.length === 0) return undefined;
  ctx.from('spec.hooks.postDeploy', 'hooks.postHookYaml');
  ctx.warn(
    'hooks.postHookYaml',
    `now in spec.hooks.postDeploy, applied after deploy: the original read it but never applied it, so check it is still wanted (${postDeploy.join(', ')})`,
  );
  return { postDeploy };
}

/** A path relative to the original file, made relative to where the converted config will live. */
function rebase(path: string, ctx: ConvertContext): string {
  const { sourceDir, outputDir } = ctx.options;
  // Unchanged when it already means the same file from the output's directory (keeps "manifests/").
  if (isAbsolute(path) || resolve(sourceDir) === resolve(outputDir)) return path;
  return relative(outputDir, resolve(sourceDir, path)) || '.';
}
