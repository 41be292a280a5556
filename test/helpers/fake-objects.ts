// Object helpers of the fake Kubernetes API: resource paths, JSON merge patch (RFC 7386), label and field
// selectors.

export interface ResourceTarget {
  groupVersion: string;
  namespace?: string;
  resource: string;
  name?: string;
  /** "status", "eviction", ... */
  subresource?: string;
}

/** /api/v1/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]] and /apis/<group>/<version>/... */
export function parseResourcePath(path: string): ResourceTarget | undefined {
  let segs: string[];
  try {
    segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  let groupVersion: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    groupVersion = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    groupVersion = `${segs[1]}/${segs[2]}`;
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 3) return undefined;
  return {
    groupVersion,
    resource: rest[0]!,
    ...(namespace ? { namespace } : {}),
    ...(rest[1] ? { name: rest[1] } : {}),
    ...(rest[2] ? { subresource: rest[2] } : {}),
  };
}

/** The canonical path of an object, or of a collection without `name`. */
export function resourcePath(target: {
  groupVersion: string;
  namespace?: string;
  resource: string;
  name?: string;
}): string {
  const prefix = target.groupVersion.includes('/')
    ? `/apis/${target.groupVersion}`
    : `/api/${target.groupVersion}`;
  const ns = target.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(target.namespace)}`;
  const name = target.name === undefined ? '' : `/${encodeURIComponent(target.name)}`;
  return `${prefix}${ns}/${target.resource}${name}`;
}

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386: objects merge recursively, null deletes a key, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Json = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** The part of an object whose change bumps metadata.generation: everything but metadata and status. */
export function specPart(obj: Json | undefined): string {
  if (!obj) return '';
  const { metadata: _metadata, status: _status, ...rest } = obj;
  return JSON.stringify(rest);
}

// ------------------------------------------------------------------------------------------ selectors

type Requirement = (labels: Record<string, string>) => boolean;

/** Splits at commas outside parentheses ("a in (x,y),b" → ["a in (x,y)", "b"]). */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

/** A label selector (=, ==, !=, in, notin, exists, !exists) as a predicate; throws on bad syntax. */
export function labelSelector(selector: string): (labels: Record<string, string> | undefined) => boolean {
  const requirements: Requirement[] = splitTerms(selector).map((term) => {
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const values = set[3]!.split(',').map((v) => v.trim());
      const key = set[1]!;
      return set[2] === 'in'
        ? (l) => key in l && values.includes(l[key]!)
        : (l) => !(key in l) || !values.includes(l[key]!);
    }
    const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (eq) {
      const [, key, op, value] = eq as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    if (/^![^=!\s]+$/.test(term)) return (l) => !(term.slice(1) in l);
    if (/^[^=!\s()]+$/.test(term)) return (l) => term in l;
    throw new Error(`unable to parse requirement: ${term}`);
  });
  return (labels) => requirements.every((r) => r(labels ?? {}));
}

/** matchLabels of a LabelSelector: every label present with its value (an empty selector matches all). */
export function matchesLabels(
  matchLabels: Record<string, string>,
  labels: Record<string, string> | undefined,
): boolean {
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);
}

/** Field selectors the API supports: metadata.name and metadata.namespace everywhere, more for pods. */
const POD_FIELDS: Record<string, (obj: Json) => unknown> = {
  'spec.nodeName': (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName ?? '',
  'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase ?? '',
};
const META_FIELDS: Record<string, (obj: Json) => unknown> = {
  'metadata.name': (o) => (o.metadata as { name?: string } | undefined)?.name ?? '',
  'metadata.namespace': (o) => (o.metadata as { namespace?: string } | undefined)?.namespace ?? '',
};

/** A field selector as a predicate for `kind`; throws with the API's message for an unknown field. */
export function fieldSelector(selector: string, kind: string): (obj: Json) => boolean {
  const fields = kind === 'Pod' ? { ...META_FIELDS, ...POD_FIELDS } : META_FIELDS;
  const tests = splitTerms(selector).map((term) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new Error(`invalid selector: '${term}'; can't understand '${term}'`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = fields[field];
    if (!get) {
      throw new Error(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    }
    return (obj: Json) => (get(obj) === value) === (op !== '!=');
  });
  return (obj) => tests.every((t) => t(obj));
}
