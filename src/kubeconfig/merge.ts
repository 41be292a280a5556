// Merges a cluster's kubeconfig into a user's kubeconfig file content. Pure: text in, text out.
// Only entries with the incoming names are replaced; every other cluster, user, context and setting
// (including comments' neighbours and unknown keys) is kept as it was.
import { parseDocument, stringify } from 'yaml';

type Named = { name: string } & Record<string, unknown>;

interface IncomingConfig {
  clusters: Named[];
  users: Named[];
  contexts: Named[];
  'current-context': string;
}

const SECTIONS = ['clusters', 'users', 'contexts'] as const;

export interface MergeResult {
  text: string;
  /** Names of entries that existed and were replaced (the same cluster merged again). */
  replaced: string[];
  currentContextChanged: boolean;
}

export function mergeKubeconfig(
  existingText: string,
  incoming: IncomingConfig,
  setCurrent: boolean,
): MergeResult {
  const doc = parseDocument(existingText.trim() === '' ? 'apiVersion: v1\nkind: Config\n' : existingText);
  if (doc.errors.length > 0)
    throw new Error(`the existing kubeconfig is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const root = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof root !== 'object' || Array.isArray(root))
    throw new Error('the existing kubeconfig is not a mapping');
  const replaced: string[] = [];
  for (const section of SECTIONS) {
    const current = Array.isArray(root[section]) ? (root[section] as Named[]) : [];
    const names = new Set(incoming[section].map((e) => e.name));
    for (const entry of current) if (names.has(entry.name)) replaced.push(`${section}/${entry.name}`);
    root[section] = [...current.filter((e) => !names.has(e.name)), ...incoming[section]];
  }
  root.apiVersion ??= 'v1';
  root.kind ??= 'Config';
  const hadCurrent = typeof root['current-context'] === 'string' && root['current-context'] !== '';
  const currentContextChanged = setCurrent || !hadCurrent;
  if (currentContextChanged) root['current-context'] = incoming['current-context'];
  return { text: stringify(root, { lineWidth: 0 }), replaced, currentContextChanged };
}
