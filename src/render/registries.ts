// spec.registries for each container runtime, in the form that runtime reads: containerd's hosts.toml
// per registry (config_path), CRI-O's registries.conf.d plus containers' certs.d, iSulad's and Docker's
// insecure-registries plus their certs.d. Pure; every value is quoted for the file it lands in.
import type { Runtime } from '../config/schema.js';
import type { ClusterPlan } from '../plan/types.js';

type Registry = ClusterPlan['registries'][number];

export interface RegistryFile {
  path: string;
  contents: string;
}

/** The directory containerd's CRI plugin reads hosts.toml files from (its config_path). */
export const CONTAINERD_CERTS_DIR = '/etc/containerd/certs.d';
export const CRIO_REGISTRIES_FILE = '/etc/containers/registries.conf.d/90-nkd-registries.conf';

/** Where each runtime looks for a registry's CA (ca.crt in a directory named after host[:port]). */
const CA_DIRS: Record<Runtime, string> = {
  containerd: CONTAINERD_CERTS_DIR,
  crio: '/etc/containers/certs.d',
  isulad: '/etc/isulad/certs.d',
  docker: '/etc/docker/certs.d',
};

/** A TOML basic string. JSON's escapes (\" \\ \n \t \uXXXX ...) are all valid TOML escapes. */
export function tomlString(value: string): string {
  return JSON.stringify(value);
}

// The host names a directory and is spliced into URLs: the config schema admits only
// host[:port]; this guards a plan that did not come through it.
function checkedHost(host: string): string {
  if (!/^[a-z0-9][a-z0-9.-]*(:[0-9]+)?$/.test(host) || host.includes('..')) {
    throw new Error(`render: registry host "${host}" is not host[:port]`);
  }
  return host;
}

function caPath(runtime: Runtime, registry: Registry): string {
  return `${CA_DIRS[runtime]}/${checkedHost(registry.host)}/ca.crt`;
}

function caFile(runtime: Runtime, registry: Registry): RegistryFile[] {
  if (registry.ca === '') return [];
  const pem = registry.ca.endsWith('\n') ? registry.ca : `${registry.ca}\n`;
  return [{ path: caPath(runtime, registry), contents: pem }];
}

/** Registries the runtime must reach without TLS verification (plain HTTP included). */
export function insecureHosts(registries: readonly Registry[]): string[] {
  return registries.filter((r) => r.plainHTTP || r.insecureSkipVerify).map((r) => checkedHost(r.host));
}

function containerdHosts(registry: Registry): string {
  const url = `${registry.plainHTTP ? 'http' : 'https'}://${checkedHost(registry.host)}`;
  const lines = [
    `# Rendered by nkd: how containerd reaches ${registry.host} (spec.registries).`,
    `server = ${tomlString(url)}`,
    '',
    `[host.${tomlString(url)}]`,
    '  capabilities = ["pull", "resolve"]',
  ];
  if (registry.insecureSkipVerify) lines.push('  skip_verify = true');
  if (registry.ca !== '') lines.push(`  ca = ${tomlString(caPath('containerd', registry))}`);
  return `${lines.join('\n')}\n`;
}

function crioRegistries(registries: readonly Registry[]): RegistryFile[] {
  const insecure = insecureHosts(registries);
  if (insecure.length === 0) return [];
  const tables = insecure.map((host) =>
    ['[[registry]]', `location = ${tomlString(host)}`, 'insecure = true'].join('\n'),
  );
  const header = '# Rendered by nkd: registries CRI-O reaches without TLS verification (spec.registries).';
  return [{ path: CRIO_REGISTRIES_FILE, contents: `${[header, ...tables].join('\n\n')}\n` }];
}

/** The files that carry spec.registries for `runtime` (the daemon.json runtimes also need insecureHosts). */
export function registryFiles(runtime: Runtime, registries: readonly Registry[]): RegistryFile[] {
  const cas = registries.flatMap((r) => caFile(runtime, r));
  if (runtime === 'containerd') {
    const hosts = registries.map((r) => ({
      path: `${CONTAINERD_CERTS_DIR}/${checkedHost(r.host)}/hosts.toml`,
      contents: containerdHosts(r),
    }));
    return [...hosts, ...cas];
  }
  if (runtime === 'crio') return [...crioRegistries(registries), ...cas];
  return cas;
}
