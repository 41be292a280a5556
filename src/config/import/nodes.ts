// master/worker lists → spec.controlPlane / spec.workers. The original sized every node on its own;
// nkd sizes a whole group alike, so a group takes the largest value of each resource (a node never
// gets less than it had) and the difference is reported.
import type { ImportProblem, OriginalNode } from './original.js';
import { toDnsLabel } from './names.js';

/** What the original gave a node whose hardwareInfo left a value out. */
export const ORIGINAL_HARDWARE = { cpu: 4, ram: 8192, disk: 50 } as const;

export interface ConvertedGroup {
  count: number;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  hosts?: { hostname?: string; ip?: string }[];
}

type Resource = keyof typeof ORIGINAL_HARDWARE;
const NKD_KEY: Record<Resource, string> = { cpu: 'cpus', ram: 'memoryMiB', disk: 'diskGiB' };
const UNIT: Record<Resource, string> = { cpu: ' CPUs', ram: ' MB', disk: ' GB' };

export function convertGroup(
  key: 'master' | 'worker',
  nkdKey: 'controlPlane' | 'workers',
  nodes: readonly OriginalNode[],
  problems: ImportProblem[],
): ConvertedGroup {
  const sizes = {} as Record<Resource, number>;
  for (const resource of ['cpu', 'ram', 'disk'] as const) {
    const values = nodes.map((n) => n.hardwareInfo?.[resource] ?? ORIGINAL_HARDWARE[resource]);
    const largest = values.length === 0 ? ORIGINAL_HARDWARE[resource] : Math.max(...values);
    sizes[resource] = largest;
    const distinct = [...new Set(values)].sort((a, b) => a - b);
    if (distinct.length > 1) {
      problems.push({
        path: `${key}[].hardwareInfo.${resource}`,
        message: `nodes differ (${distinct.join(', ')}${UNIT[resource]}); nkd gives every node of spec.${nkdKey} the same size, so spec.${nkdKey}.${NKD_KEY[resource]} is the largest, ${largest}`,
        severity: 'warning',
      });
    }
  }
  const hosts = nodes.map((n, i) => host(key, i, n, problems));
  // Trailing entries that fix nothing are left out: nkd generates names and addresses for them.
  while (hosts.length > 0 && Object.keys(hosts[hosts.length - 1]!).length === 0) hosts.pop();
  return {
    count: nodes.length,
    cpus: sizes.cpu,
    // The original passed MB to libvirt/OpenStack as MiB, and GB as GiB: the numbers carry over as is.
    memoryMiB: sizes.ram,
    diskGiB: sizes.disk,
    ...(hosts.length > 0 ? { hosts } : {}),
  };
}

function host(
  key: string,
  index: number,
  node: OriginalNode,
  problems: ImportProblem[],
): { hostname?: string; ip?: string } {
  const out: { hostname?: string; ip?: string } = {};
  const name = node.hostname?.trim() ?? '';
  if (name !== '') {
    const label = toDnsLabel(name, 63);
    if (label !== name) {
      problems.push({
        path: `${key}[${index}].hostname`,
        message: `"${name}" is not a DNS-1123 label; it becomes "${label}"`,
        severity: 'warning',
      });
    }
    if (label !== '') out.hostname = label;
  }
  const ip = node.ip?.trim() ?? '';
  if (ip !== '') out.ip = ip;
  return out;
}

/** The group without cpus, memoryMiB and diskGiB, for a platform whose flavor sizes the nodes. */
export function withoutSizes(group: ConvertedGroup): Omit<ConvertedGroup, 'cpus' | 'memoryMiB' | 'diskGiB'> {
  const { cpus: _cpus, memoryMiB: _memory, diskGiB: _disk, ...rest } = group;
  return rest;
}
