// A lenient reader of the original NKD's cluster_config.yaml. Lenient because files in the wild were
// written by hand against stale docs: key case varies (hardwareinfo, apiServerEndpoint), empty values
// are common (`ip:`), and numbers are sometimes quoted. Unknown keys are warnings, not errors: the
// point is to carry over what can be carried, and to say what could not.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatKeyPath, type KeyPath } from '../locate.js';

export interface ImportProblem {
  /** Key path in the original file (or an nkd key path, for problems only nkd's validation found). */
  path: string;
  message: string;
  severity: 'error' | 'warning';
  /** Where in the original file, when known (YAML syntax errors); see locateImportProblems. */
  line?: number;
  col?: number;
}

// YAML numbers and numeric strings both become a non-negative integer.
const count = z.preprocess(
  (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
  z.int().min(0, 'must be 0 or more'),
);
// Scalars that Go read as strings even when YAML typed them (ports, versions written as numbers).
const text = z.preprocess(
  (v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v),
  z.string(),
);
const textOrList = z.union([text, z.array(text)]);

const node = z.strictObject({
  hostname: text.optional(),
  ip: text.optional(),
  hardwareInfo: z
    .strictObject({ cpu: count.optional(), ram: count.optional(), disk: count.optional() })
    .optional(),
});

// One object for every platform: the original had a separate struct per platform under the same key.
const infraPlatform = z.strictObject({
  // libvirt
  uri: text.optional(),
  osPath: text.optional(),
  cidr: text.optional(),
  gateway: text.optional(),
  // openstack
  username: text.optional(),
  password: text.optional(),
  tenantName: text.optional(),
  authURL: text.optional(),
  region: text.optional(),
  internalNetwork: text.optional(),
  externalNetwork: text.optional(),
  glanceName: text.optional(),
  availabilityZone: text.optional(),
  // pxe / ipxe (refused, but known, so they are not reported as typos)
  ip: text.optional(),
  httpServerPort: text.optional(),
  httpRootDir: text.optional(),
  tftpServerPort: text.optional(),
  tftpRootDir: text.optional(),
  port: text.optional(),
  filePath: text.optional(),
  osInstallTreePath: text.optional(),
});

const subnets = { serviceSubnet: text.optional(), podSubnet: text.optional() };

const kubernetes = z.strictObject({
  kubernetesVersion: text.optional(),
  kubernetesApiVersion: text.optional(),
  apiserverEndpoint: text.optional(),
  imageRegistry: text.optional(),
  registryMirror: text.optional(),
  pauseImage: text.optional(),
  releaseImageURL: text.optional(),
  token: text.optional(),
  adminKubeconfig: text.optional(),
  certificateKey: text.optional(),
  packageList: z.unknown().optional(),
  rpmPackagePath: text.optional(),
  network: z.strictObject({ ...subnets, plugin: text.optional() }).optional(),
  // The issue text of the original puts the subnets directly under kubernetes: accept both places.
  ...subnets,
});

export const originalSchema = z.strictObject({
  clusterID: text.optional(),
  architecture: text.optional(),
  platform: text.optional(),
  infraPlatform: infraPlatform.optional(),
  osImage: z.strictObject({ type: text.optional() }).optional(),
  username: text.optional(),
  password: text.optional(),
  sshKey: text.optional(),
  master: z.array(node).optional(),
  worker: z.array(node).optional(),
  runtime: text.optional(),
  kubernetes: kubernetes.optional(),
  certAsset: z.unknown().optional(),
  hooks: z
    .strictObject({ preHookScript: textOrList.optional(), postHookYaml: textOrList.optional() })
    .optional(),
});

export type OriginalConfig = z.output<typeof originalSchema>;
export type OriginalNode = z.output<typeof node>;

/** Every key the original knew, by lower-case spelling, so any casing maps to the canonical one. */
const CANONICAL = new Map(
  [
    ...Object.keys(originalSchema.shape),
    ...Object.keys(infraPlatform.shape),
    ...Object.keys(kubernetes.shape),
    ...Object.keys(node.shape),
    'type',
    'cpu',
    'ram',
    'disk',
    'plugin',
    'preHookScript',
    'postHookYaml',
  ].map((key) => [key.toLowerCase(), key]),
);

/** Renames keys to their canonical casing and drops empty (null) values, recursively. */
function normalize(value: unknown, path: KeyPath, problems: ImportProblem[]): unknown {
  if (Array.isArray(value)) return value.map((item, i) => normalize(item, [...path, i], problems));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === null || item === undefined) continue;
    const canonical = CANONICAL.get(key.toLowerCase()) ?? key;
    if (canonical in out) {
      problems.push({
        path: formatKeyPath([...path, canonical]),
        message: `given twice (as "${key}" and another spelling); the first one is used`,
        severity: 'warning',
      });
      continue;
    }
    out[canonical] = normalize(item, [...path, canonical], problems);
  }
  return out;
}

function deleteAt(root: unknown, path: KeyPath): void {
  let node = root as Record<string | number, unknown> | undefined;
  for (const part of path.slice(0, -1)) {
    const next = node?.[part];
    if (typeof next !== 'object' || next === null) return;
    node = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (node && last !== undefined) delete node[last];
}

export interface ReadOriginal {
  original: OriginalConfig | undefined;
  problems: ImportProblem[];
}

/** Pure: the original file's text in, its typed content plus warnings (or errors) out. */
export function readOriginal(source: string): ReadOriginal {
  const doc = parseDocument(source, { prettyErrors: true, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      path: '(yaml)',
      // The position is given as line and col: the message's own "at line L, column C" goes.
      message: e.message
        .split('\n')[0]!
        .replace(/ at line \d+, column \d+:?$/, '')
        .trim(),
      severity: 'error' as const,
      ...(e.linePos ? { line: e.linePos[0].line, col: e.linePos[0].col } : {}),
    }));
    return { original: undefined, problems };
  }
  const raw: unknown = doc.toJS();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      original: undefined,
      problems: [
        {
          path: '(root)',
          message:
            'is not a mapping; expected an NKD cluster_config.yaml (clusterID, master, kubernetes, ...)',
          severity: 'error',
        },
      ],
    };
  }
  const problems: ImportProblem[] = [];
  const data = normalize(raw, [], problems);
  const first = originalSchema.safeParse(data);
  if (first.success) return { original: first.data, problems };

  const errors: ImportProblem[] = [];
  for (const issue of first.error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({
          path: formatKeyPath([...path, key]),
          message: 'is not a key of the NKD config format; ignored',
          severity: 'warning',
        });
        deleteAt(data, [...path, key]);
      }
    } else {
      errors.push({ path: formatKeyPath(path), message: issue.message, severity: 'error' });
    }
  }
  if (errors.length > 0) return { original: undefined, problems: [...problems, ...errors] };
  // Only unknown keys were wrong, and they are gone now: the second parse cannot fail on them.
  const second = originalSchema.safeParse(data);
  if (!second.success) {
    const rest = second.error.issues.map((issue) => ({
      path: formatKeyPath(issue.path.filter((p): p is string | number => typeof p !== 'symbol')),
      message: issue.message,
      severity: 'error' as const,
    }));
    return { original: undefined, problems: [...problems, ...rest] };
  }
  return { original: second.data, problems };
}
