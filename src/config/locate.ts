// Maps a key path of the parsed config back to a line and column of the YAML source, so every problem
// can be reported as FILE:LINE:COL. Scalars point at their value; mappings, lists and empty values
// point at their key (the line a person looks for); missing keys point at the nearest existing key.
import { capValue } from '../lib/cap.js';
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type KeyPath = readonly (string | number)[];

export interface SourcePosition {
  line: number;
  col: number;
}

export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const raw of path) {
    // A key comes from the user's file: bounded like every echoed value.
    const part = typeof raw === 'number' ? raw : capValue(raw);
    out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out === '' ? '(root)' : out;
}

function keyNode(map: unknown, key: string | number): { key: Node; value: unknown } | undefined {
  if (!isMap(map)) return undefined;
  const named = (match: (k: string) => boolean) =>
    map.items.find((item) => isScalar(item.key) && match(String(item.key.value)));
  // Exact first; then regardless of case, for readers that normalize key case (config import).
  const wanted = String(key);
  const pair = named((k) => k === wanted) ?? named((k) => k.toLowerCase() === wanted.toLowerCase());
  return pair ? { key: pair.key as Node, value: pair.value } : undefined;
}

/** Returns the node to point at for `path` (with `keyOf`: the key `keyOf` inside the map at `path`). */
function findNode(doc: Document, path: KeyPath, keyOf?: string): Node | undefined {
  let node: unknown = doc.contents;
  let anchor: Node | undefined = (doc.contents as Node | null) ?? undefined;
  const full = keyOf === undefined ? path : [...path, keyOf];
  for (const [i, part] of full.entries()) {
    const last = i === full.length - 1;
    if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part];
      if (item === undefined) return anchor;
      node = item;
      anchor = item as Node;
      continue;
    }
    const pair = keyNode(node, part);
    if (!pair) return anchor;
    node = pair.value;
    const valueIsScalar = isScalar(pair.value) && pair.value.value !== null;
    anchor = last && valueIsScalar && keyOf === undefined ? (pair.value as Node) : pair.key;
  }
  return anchor;
}

export function locate(doc: Document, counter: LineCounter, path: KeyPath, keyOf?: string): SourcePosition {
  const node = findNode(doc, path, keyOf);
  const offset = node?.range?.[0] ?? 0;
  return counter.linePos(offset);
}

/** The inverse of formatKeyPath: "a.b[2].c" → ['a', 'b', 2, 'c']; "(root)" and "(yaml)" → []. */
export function parseKeyPath(text: string): KeyPath {
  if (text.startsWith('(')) return [];
  const out: (string | number)[] = [];
  for (const match of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    out.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  }
  return out;
}
