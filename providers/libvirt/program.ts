// The libvirt Pulumi program: one dynamic resource per libvirt object, each driving virsh through the
// operations in operations.ts. Pulumi serializes a dynamic provider's methods as source into the state
// and runs them in its provider process, so the methods capture nothing but two strings (the operations
// module's path inside nkd's package and the kind) and import the implementation when they run.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { packageRoot } from '../../src/lib/package-root.js';
import { endpointText } from '../../src/plan/plan.js';
import type { ProgramInput, ProviderProgram } from '../types.js';
import type { LibvirtConfig } from './config.js';
import { fileFingerprint } from './operations.js';
import { libvirtResources } from './resources.js';

/**
 * The operations module, relative to nkd's package root. The state keeps the provider's text for
 * deletes and refreshes, so it must not name where nkd is installed today: the engine starts the
 * provider process in the program's directory (`main`, nkd's package root at the time of the run), and
 * the path is resolved from there.
 */
export const OPERATIONS_MODULE = relative(
  packageRoot(),
  fileURLToPath(new URL('./operations.js', import.meta.url)),
);

type Kind =
  | 'poolOperations'
  | 'baseImageVolumeOperations'
  | 'nodeVolumeOperations'
  | 'ignitionVolumeOperations'
  | 'networkOperations'
  | 'domainOperations';

/** Output names each kind reports beyond its inputs (declared so Pulumi fills them in). */
const OUTPUTS: Record<Kind, string[]> = {
  poolOperations: ['uuid'],
  baseImageVolumeOperations: ['path', 'format', 'virtualSizeBytes'],
  nodeVolumeOperations: ['path', 'capacityBytes'],
  ignitionVolumeOperations: ['path', 'sha256', 'sizeBytes'],
  networkOperations: ['uuid'],
  domainOperations: ['uuid'],
};

export function dynamicProvider(
  kind: Kind,
  operationsModule: string = OPERATIONS_MODULE,
): pulumi.dynamic.ResourceProvider {
  // The importer is built from a string so that no bundler or test runner rewrites `import()` into a
  // helper the serializer would have to capture. `require` is the provider host's own (it loads this
  // text with require-from-string), so only Node built-ins are used to find the module.
  const load = async () => {
    const { pathToFileURL } = await new Function('m', 'return import(m)')('node:url');
    const { resolve } = await new Function('m', 'return import(m)')('node:path');
    const url = pathToFileURL(resolve(process.cwd(), operationsModule)).href;
    return (await new Function('url', 'return import(url)')(url))[kind];
  };
  return {
    async create(inputs) {
      return (await load()).create(inputs);
    },
    async diff(id, olds, news) {
      return (await load()).diff(id, olds, news);
    },
    async update(id, olds, news) {
      const ops = await load();
      if (!ops.update)
        throw new Error(`${kind}: no in-place update; diff should have asked for a replacement`);
      return ops.update(id, olds, news);
    },
    async delete(id, props) {
      await (await load()).delete(id, props);
    },
    async read(id, props) {
      return (await load()).read(id, props);
    },
  };
}

/** `poolOperations` → `Pool`: the type token reads pulumi-nodejs:dynamic/libvirt:Pool. */
function typeName(kind: Kind): string {
  const base = kind.replace('Operations', '');
  return base.charAt(0).toUpperCase() + base.slice(1);
}

/** A libvirt object; `output(name)` reads what its create reported. */
export class LibvirtObject extends pulumi.dynamic.Resource {
  constructor(
    kind: Kind,
    name: string,
    inputs: Record<string, unknown>,
    opts: pulumi.CustomResourceOptions = {},
  ) {
    const declared = Object.fromEntries(OUTPUTS[kind].map((key) => [key, undefined]));
    // Names are fixed in libvirt, so a replacement must delete the old object first.
    super(
      dynamicProvider(kind),
      name,
      { ...inputs, ...declared },
      { deleteBeforeReplace: true, ...opts },
      'libvirt',
      typeName(kind),
    );
  }

  output<T = string>(key: string): pulumi.Output<T> {
    return (this as unknown as Record<string, pulumi.Output<T>>)[key]!;
  }
}

async function baseImageFingerprint(image: string): Promise<string> {
  if (!existsSync(image))
    throw new Error(`spec.platform.libvirt.image: ${image} does not exist on this machine`);
  return fileFingerprint(image);
}

async function run(input: ProgramInput<LibvirtConfig>): Promise<Record<string, unknown>> {
  const { plan, platform } = input;
  const resources = libvirtResources({
    plan,
    platform: { uri: platform.uri, image: platform.image },
    rendered: input.nodes.map((n) => ({ node: n.node, ignitionText: n.ignition })),
    ...(platform.poolPath !== undefined && { poolPath: platform.poolPath }),
    domainType: platform.domainType,
    baseImageFingerprint: await baseImageFingerprint(platform.image),
  });
  const pool = new LibvirtObject('poolOperations', resources.pool.name, { ...resources.pool });
  // Named after the image's content: a new image is a new volume, used by new nodes only. Existing
  // disks are overlays of the volume they were made from, so it stays (retained, not deleted) until
  // the pool goes with the cluster.
  const base = new LibvirtObject(
    'baseImageVolumeOperations',
    `${resources.pool.name}-${resources.baseImage.name}`,
    { ...resources.baseImage },
    { dependsOn: [pool], retainOnDelete: true },
  );
  const network = new LibvirtObject('networkOperations', resources.network.name, { ...resources.network });

  const nodes = resources.nodes.map(({ node, volume, ignition, domain }) => {
    const disk = new LibvirtObject('nodeVolumeOperations', volume.name, { ...volume }, { dependsOn: [base] });
    // The Ignition config holds the node's secrets: Pulumi keeps inputs in state, so mark it secret.
    const config = new LibvirtObject(
      'ignitionVolumeOperations',
      ignition.name,
      { ...ignition, content: pulumi.secret(ignition.content) },
      { dependsOn: [pool], additionalSecretOutputs: ['content'] },
    );
    // Paths are known before the volumes exist (a dir pool lays them out by name), so a volume's update
    // never makes the domain's inputs unknown, which the engine would have to treat as a replacement.
    const vm = new LibvirtObject(
      'domainOperations',
      domain.name,
      { ...domain },
      // A config edit must never silently replace a control-plane machine (etcd member).
      { dependsOn: [network, disk, config], protect: node.role === 'control-plane' },
    );
    return {
      name: node.name,
      role: node.role,
      address: node.address,
      providerId: vm.id,
      consoleLog: domain.consoleLogPath,
    };
  });

  return { apiEndpoint: endpointText(plan.kubernetes.controlPlaneEndpoint), nodes };
}

export const libvirtProgram: ProviderProgram<LibvirtConfig> = { run };
