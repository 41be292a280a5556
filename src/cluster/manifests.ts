// Reading and writing Kubernetes manifests as text: a user's multi-document YAML (or JSON) file in,
// a list of objects ready for server-side apply out; and back to YAML for the state directory.
//
// Parsing checks only what apply itself needs (apiVersion, kind, metadata.name) and reports the first
// bad document as `source:LINE: message`, so a typo in a 2,000-line manifest is found by its line, before
// anything is sent to the cluster.
import { isMap, isSeq, LineCounter, parseAllDocuments, stringify, type Node } from 'yaml';
import { ExitCode, NkdError } from '../errors.js';
import type { KubeObject } from './types.js';

/** Parses multi-document YAML into objects, flattening `kind: List` (and `*List`) documents. */
export function parseManifests(text: string, source: string): KubeObject[] {
  const counter = new LineCounter();
  // uniqueKeys: a duplicated key is almost always a mistake, and silently keeping the last one would
  // apply something else than what the author reads.
  const docs = parseAllDocuments(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined, fallback: number): number =>
    node?.range ? counter.linePos(node.range[0]).line : fallback;
  const objects: KubeObject[] = [];
  for (const doc of docs) {
    const syntax = doc.errors[0];
    if (syntax) {
      const line = counter.linePos(syntax.pos[0]).line;
      throw invalid(source, line, `YAML syntax error: ${firstLine(syntax.message)}`);
    }
    const docLine = doc.range ? counter.linePos(doc.range[0]).line : 1;
    if (doc.contents === null) continue; // "---" with nothing (or only comments) after it
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // an explicit `null` document
    collect(value, doc.contents as Node, lineOf(doc.contents as Node, docLine));
  }
  return objects;

  function collect(value: unknown, node: Node | undefined, line: number): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const what = Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
      throw invalid(source, line, `expected a Kubernetes object (a mapping), found ${what}`);
    }
    const obj = value as Record<string, unknown>;
    if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') {
      throw invalid(source, line, 'the object has no apiVersion');
    }
    if (typeof obj.kind !== 'string' || obj.kind === '') {
      throw invalid(source, line, 'the object has no kind');
    }
    // `kind: List` is kubectl's generic wrapper; `ConfigMapList` etc. are what `kubectl get -o yaml`
    // prints. Both carry their objects in `items` and are never objects of their own.
    if (obj.kind === 'List' || (obj.kind.endsWith('List') && Array.isArray(obj.items))) {
      if (!Array.isArray(obj.items)) throw invalid(source, line, `kind ${obj.kind} needs an items list`);
      const itemsNode = isMap(node) ? node.get('items', true) : undefined;
      obj.items.forEach((item, i) => {
        const itemNode = isSeq(itemsNode) ? (itemsNode.items[i] as Node | undefined) : undefined;
        collect(item, itemNode, lineOf(itemNode, line));
      });
      return;
    }
    const metadata = obj.metadata;
    const name =
      typeof metadata === 'object' && metadata !== null
        ? (metadata as Record<string, unknown>).name
        : undefined;
    if (typeof name !== 'string' || name === '') {
      throw invalid(source, line, `${obj.kind} has no metadata.name`);
    }
    objects.push(obj as KubeObject);
  }
}

/**
 * Multi-document YAML of `objects`, in order, one `---` before each. Same objects, same bytes: keys keep
 * their insertion order, long strings are never folded, and shared sub-objects are written out in full
 * instead of as anchors and aliases (which some tools reading the state directory do not expect).
 */
export function serializeManifests(objects: readonly KubeObject[]): string {
  return objects
    .map((obj) => `---\n${stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false, indentSeq: true })}`)
    .join('');
}

function invalid(source: string, line: number, message: string): NkdError {
  return new NkdError(`${source}:${line}: ${message}`, ExitCode.InvalidConfig);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
