// Pointer delivery (OpenStack): every node boots a small pointer config that merges its full config
// from nkd's HTTPS Ignition service. Tokens and the service CA are persisted so the pointers — and so
// the instances' user data — stay byte-identical across runs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeBootData, ProviderDescriptor } from '../../providers/types.js';
import { ExitCode, NkdError } from '../errors.js';
import { loadOrCreateServiceCa, newNodeToken } from '../ignition-service/index.js';
import type { CertAndKey } from '../pki/types.js';
import { serializeIgnition } from '../render/ignition.js';
import type { RenderedNode } from '../render/node.js';
import { pointerConfig, sha512Hex } from '../render/pointer.js';
import { isStringRecord, readStateJsonSync } from '../state/files.js';
import { ensurePrivateDir, syncDirectory, writePrivateFile } from '../state/paths.js';
import { providerFor } from '../../providers/registry.js';
import type { PreparedCluster } from './prepare.js';

export interface DeliveryPlan {
  listen: { host: string; port: number };
  advertise: string;
  ca: CertAndKey;
  tokens: Record<string, string>;
  nodes: NodeBootData[];
}

function hostPort(text: string, what: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !(port >= 1 && port <= 65535)) {
    throw new NkdError(`${what} "${text}" must be host:port`, ExitCode.InvalidConfig);
  }
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** The node tokens stored in the Ignition service directory `dir` (none yet: empty). */
export function readNodeTokens(dir: string): Record<string, string> {
  const file = join(dir, 'tokens.json');
  return existsSync(file) ? readStateJsonSync(file, 'the Ignition service node tokens', isStringRecord) : {};
}

/**
 * Node tokens, created once per node and kept 0600; new nodes get new tokens. A node no longer planned
 * loses its token, so a machine added later under the same name gets a new one: whoever read the old
 * machine's user data cannot fetch the new machine's config.
 */
function loadTokens(dir: string, nodes: readonly string[]): Record<string, string> {
  const file = join(dir, 'tokens.json');
  const stored = readNodeTokens(dir);
  const planned = new Set(nodes);
  const tokens = Object.fromEntries(Object.entries(stored).filter(([node]) => planned.has(node)));
  let changed = Object.keys(tokens).length !== Object.keys(stored).length;
  for (const node of nodes) {
    if (tokens[node] === undefined) {
      tokens[node] = newNodeToken();
      changed = true;
    }
  }
  if (changed) writePrivateFile(file, `${JSON.stringify(tokens, null, 2)}\n`);
  return tokens;
}

/**
 * The Ignition service settings of a pointer-delivery provider; nodes cannot boot without an address
 * to reach it, so a missing one is a config error named by its key.
 */
export function requireIgnitionService(
  provider: ProviderDescriptor<unknown>,
  platformConfig: unknown,
): { listen: { host: string; port: number }; advertise: string; advertiseHost: string } {
  const service = provider.ignitionService?.(platformConfig);
  if (!service)
    throw new Error(`provider ${provider.name} uses pointer delivery but declares no Ignition service`);
  if (service.advertise === undefined) {
    throw new NkdError(
      `${service.path.join('.')}.advertise is not set: it must be the host:port at which the new nodes reach this machine's Ignition service during deploy`,
      ExitCode.InvalidConfig,
    );
  }
  const key = service.path.join('.');
  return {
    listen: hostPort(service.listen, `${key}.listen`),
    advertise: service.advertise,
    advertiseHost: hostPort(service.advertise, `${key}.advertise`).host,
  };
}

export async function planPointerDelivery(
  provider: ProviderDescriptor<unknown>,
  platformConfig: unknown,
  rendered: RenderedNode[],
  clusterDir: string,
): Promise<DeliveryPlan> {
  const service = requireIgnitionService(provider, platformConfig);
  const dir = join(clusterDir, 'ignition-service');
  ensurePrivateDir(dir);
  const { ca } = await loadOrCreateServiceCa(dir);
  const tokens = loadTokens(
    dir,
    rendered.map((r) => r.node.name),
  );
  const base = `https://${service.advertise}`;
  const nodes = rendered.map((r) => ({
    node: r.node,
    ignition: r.ignitionText,
    pointer: serializeIgnition(
      pointerConfig({
        url: `${base}/ignition/${encodeURIComponent(r.node.name)}`,
        caCertPem: ca.certPem,
        token: tokens[r.node.name]!,
        sha512Hex: sha512Hex(r.ignitionText),
        hostname: r.node.name,
      }),
    ),
  }));
  return {
    listen: service.listen,
    advertise: service.advertiseHost,
    ca,
    tokens,
    nodes,
  };
}

/**
 * Writes each node's pointer config under assets/pointer/ (pointer delivery with an advertised
 * address only), so a dry-run shows exactly the user data each instance will boot with.
 */
export async function writePointerAssets(prepared: PreparedCluster): Promise<string | undefined> {
  const provider = providerFor(prepared.plan.platform.name);
  const platformConfig = prepared.config.spec.platform[prepared.plan.platform.name];
  if (
    provider.delivery !== 'pointer' ||
    // Object-store pointers name the cloud's object store, known only when the program runs.
    provider.objectStoreDelivery?.(platformConfig) !== undefined ||
    provider.ignitionService?.(platformConfig).advertise === undefined
  ) {
    return undefined;
  }
  const delivery = await planPointerDelivery(
    provider,
    platformConfig,
    prepared.rendered,
    prepared.paths.root,
  );
  const dir = join(prepared.paths.assets, 'pointer');
  syncDirectory(dir, new Map(delivery.nodes.map((n) => [`${n.node.name}.ign`, n.pointer!])));
  return dir;
}
