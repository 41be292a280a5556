// Maps a key path of the parsed config back to a line and column of the YAML source, so every problem
// can be reported as FILE:LINE:COL. Missing keys point at the nearest existing parent.
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type KeyPath = readonly (string | number)[];

export interface SourcePosition {
  line: number;
  col: number;
}

export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out === '' ? '(root)' : out;
}

/** Returns the node at `path`, or with `keyOf` the key node of the pair holding `keyOf` in that map. */
function findNode(doc: Document, path: KeyPath, keyOf?: string): Node | undefined {
  let node: unknown = doc.contents;
  let best: Node | undefined = doc.contents ?? undefined;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(part));
      if (!pair) return best;
      node = pair.value ?? pair.key;
      best = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part];
      if (item === undefined) return best;
      node = item;
      best = item as Node;
    } else {
      return best;
    }
  }
  if (keyOf !== undefined && isMap(node)) {
    const pair = node.items.find(
      (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === keyOf,
    );
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return best;
}

export function locate(doc: Document, counter: LineCounter, path: KeyPath, keyOf?: string): SourcePosition {
  const node = findNode(doc, path, keyOf);
  const offset = node?.range?.[0] ?? 0;
  return counter.linePos(offset);
}
