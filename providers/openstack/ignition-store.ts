// ignitionDelivery: swift. Each node's full config becomes an object in a Swift container of the
// cluster, and the node's user data is a pointer to a TempURL of it, signed here with a key nkd sets on
// that container. Nothing calls back to the deployer's machine. The object store's URL is looked up
// (Keystone's catalog, through the provider's own credentials) before anything is registered, so a
// cloud without a usable Swift fails with nothing made.
import * as openstack from '@pulumi/openstack';
import * as pulumi from '@pulumi/pulumi';
import { serializeIgnition } from '../../src/render/ignition.js';
import { objectPointerConfig } from '../../src/render/object-pointer.js';
import type { IgnitionObjects, NodeBootData } from '../types.js';
import type { Context } from './context.js';
import type { NodeBoot } from './layout.js';
import { assertUserDataFits, sha512Hex } from '../../src/render/pointer.js';
import { ignitionContainerName, ignitionObjectName, objectStoreUrl, tempUrl } from './tempurl.js';

/**
 * Swift's container metadata header X-Container-Meta-Temp-URL-Key, as the provider reads headers back
 * (Go's canonical form), so a refresh sees no change.
 */
export const TEMP_URL_KEY_METADATA = 'Temp-Url-Key';

export interface PlannedStore {
  storageUrl: string;
  container: string;
  /** Each node's pointer config text (user data). */
  pointers: Map<string, string>;
}

/** Looks up the object store and signs every node's pointer; registers nothing. */
export async function planIgnitionStore(
  ctx: Context,
  nodes: readonly NodeBootData[],
  objects: IgnitionObjects,
): Promise<PlannedStore> {
  const region = ctx.platform.region;
  const scope = await openstack.identity.getAuthScope(
    { name: ctx.name('auth-scope'), ...(region === undefined ? {} : { region }) },
    ctx.invokeOpts,
  );
  const found = objectStoreUrl(scope.serviceCatalogs ?? [], region ?? scope.region);
  if ('problem' in found) throw new Error(`openstack: ${found.problem}`);
  const container = ignitionContainerName(ctx.cluster);
  const pointers = new Map(
    nodes.map(({ node, ignition }) => {
      const url = tempUrl({
        method: 'GET',
        storageUrl: found.url,
        container,
        object: ignitionObjectName(node.name),
        expires: objects.expires,
        key: objects.tempUrlKey,
      });
      const pointer = objectPointerConfig({ url, sha512Hex: sha512Hex(ignition), hostname: node.name });
      return [node.name, serializeIgnition(pointer)] as const;
    }),
  );
  return { storageUrl: found.url, container, pointers };
}

/**
 * The container (its Temp-URL-Key set, emptied when destroyed) and one object per node still to fetch
 * its config. Returns each stored node's object, which its instance must wait for.
 */
export function registerIgnitionStore(
  ctx: Context,
  planned: PlannedStore,
  nodes: readonly NodeBootData[],
  objects: IgnitionObjects,
): Map<string, pulumi.Resource> {
  const container = new openstack.objectstorage.Container(
    ctx.name('ignition'),
    {
      name: planned.container,
      metadata: pulumi.secret({ [TEMP_URL_KEY_METADATA]: objects.tempUrlKey }),
      // Destroying the cluster removes the container with whatever configs are still in it.
      forceDestroy: true,
    },
    ctx.opts,
  );
  const store = new Set(objects.store);
  const stored = new Map<string, pulumi.Resource>();
  for (const { node, ignition } of nodes) {
    if (!store.has(node.name)) continue;
    const object = new openstack.objectstorage.ContainerObject(
      ctx.name('ignition', node.name),
      {
        containerName: container.name,
        name: ignitionObjectName(node.name),
        content: pulumi.secret(ignition),
        contentType: 'application/vnd.coreos.ignition+json',
      },
      ctx.opts,
    );
    stored.set(node.name, object);
  }
  return stored;
}

/** The planned nodes with their signed pointers, each checked against Nova's user-data limit. */
export function withStorePointers(boots: readonly NodeBoot[], store: PlannedStore): NodeBoot[] {
  return boots.map((boot) => {
    const pointer = store.pointers.get(boot.node.name);
    if (pointer === undefined) throw new Error(`openstack: node ${boot.node.name} has no stored config`);
    assertUserDataFits(pointer, boot.node.name);
    return { ...boot, pointer };
  });
}
