import { describe, expect, it } from 'vitest';
import { parseManifests, serializeManifests } from '../../src/cluster/manifests.js';
import { ExitCode, NkdError } from '../../src/errors.js';

function parseError(text: string): NkdError {
  try {
    parseManifests(text, 'cni.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(NkdError);
    expect((err as NkdError).exitCode).toBe(ExitCode.InvalidConfig);
    expect((err as NkdError).message).not.toContain('\n');
    return err as NkdError;
  }
  throw new Error('expected parseManifests to throw');
}

describe('parseManifests', () => {
  it('reads every document in order and skips empty and null ones', () => {
    const text = [
      '# leading comment',
      '---',
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: {name: a}',
      '---',
      '---',
      '# only a comment',
      '---',
      'null',
      '---',
      '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "a"}}',
      '',
    ].join('\n');
    const objects = parseManifests(text, 'cni.yaml');
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(['Namespace/a', 'ConfigMap/b']);
    expect(objects[1]!.metadata?.namespace).toBe('a');
  });

  it('returns nothing for an empty text', () => {
    expect(parseManifests('', 'cni.yaml')).toEqual([]);
    expect(parseManifests('\n# nothing\n', 'cni.yaml')).toEqual([]);
  });

  it('flattens kind List and typed *List documents, nested ones included', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ServiceAccount
    metadata: {name: sa, namespace: kube-system}
  - apiVersion: v1
    kind: ConfigMapList
    items:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: cm}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
`;
    expect(parseManifests(text, 'cni.yaml').map((o) => o.kind)).toEqual([
      'ServiceAccount',
      'ConfigMap',
      'Secret',
    ]);
  });

  it('keeps strings that YAML 1.1 would turn into booleans', () => {
    const [cm] = parseManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: on, b: "0"}\n',
      's',
    );
    expect(cm!.data).toEqual({ a: 'on', b: '0' });
  });

  it('reports a document without metadata.name at its first line', () => {
    const text =
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n\napiVersion: v1\nkind: ConfigMap\n';
    expect(parseError(text).message).toBe('cni.yaml:6: ConfigMap has no metadata.name');
  });

  it('reports a missing apiVersion or kind, and a document that is not a mapping', () => {
    expect(parseError('kind: Namespace\nmetadata: {name: a}\n').message).toBe(
      'cni.yaml:1: the object has no apiVersion',
    );
    expect(parseError('apiVersion: v1\nmetadata: {name: a}\n').message).toBe(
      'cni.yaml:1: the object has no kind',
    );
    expect(parseError('---\n- a\n- b\n').message).toMatch(
      /^cni\.yaml:2: expected a Kubernetes object .*a list$/,
    );
    expect(parseError('just text\n').message).toMatch(/^cni\.yaml:1: .*a string$/);
  });

  it('reports a bad List item at the item, and a List without items', () => {
    const text =
      'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: A\n    metadata: {name: a}\n  - kind: B\n';
    expect(parseError(text).message).toBe('cni.yaml:7: the object has no apiVersion');
    expect(parseError('apiVersion: v1\nkind: List\n').message).toBe(
      'cni.yaml:1: kind List needs an items list',
    );
  });

  it('reports a YAML syntax error and a duplicate key with their line', () => {
    const bad =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: [unclosed\n';
    expect(parseError(bad).message).toMatch(/^cni\.yaml:[67]: YAML syntax error: /);
    const dup = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nkind: Secret\n';
    expect(parseError(dup).message).toMatch(/^cni\.yaml:4: YAML syntax error: .*[Uu]nique/);
  });
});

describe('serializeManifests', () => {
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'n' },
      data: { 'conf.json': '{\n  "a": 1\n}\n', long: 'x'.repeat(300), yes: 'on' },
    },
  ];

  it('writes one document per object and parses back to the same objects', () => {
    const text = serializeManifests(objects);
    expect(text.startsWith('---\n')).toBe(true);
    expect(text.match(/^---$/gm)).toHaveLength(2);
    expect(parseManifests(text, 'state.yaml')).toEqual(objects);
  });

  it('never writes anchors for shared sub-objects, and is byte-identical across calls', () => {
    const labels = { app: 'x' };
    const shared = [
      { apiVersion: 'v1', kind: 'A', metadata: { name: 'a', labels } },
      { apiVersion: 'v1', kind: 'B', metadata: { name: 'b', labels } },
    ];
    const text = serializeManifests(shared);
    expect(text).not.toMatch(/[&*]a\d/);
    expect(serializeManifests(shared)).toBe(text);
    expect(serializeManifests([])).toBe('');
  });
});
