import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/cluster/types.js';
import {
  buildHousekeeperManifests,
  checkHousekeeperTemplates,
  defaultHousekeeperImage,
  HOUSEKEEPER_CRD_NAME,
  HOUSEKEEPER_NAMESPACE,
  housekeeperManifests,
  housekeeperWorkloads,
} from '../../src/addons/housekeeper/manifests.js';
import {
  HOUSEKEEPER_TEMPLATE_FILES,
  housekeeperTemplatesDir,
  readHousekeeperTemplates,
} from '../../src/addons/housekeeper/templates.js';

const IMAGE = 'registry.example.test/ops/housekeeper:test-1';
const options = { image: IMAGE, nkdVersion: '0.1.0' };

// Loose access into parsed objects: the tests assert shapes, the types would only get in the way.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function find(objects: KubeObject[], kind: string, name?: string): Any {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0];
}

function podSpec(obj: Any): Any {
  return obj.spec.template.spec;
}

describe('housekeeper CRD', () => {
  const objects = housekeeperManifests(options);
  const crd = find(objects, 'CustomResourceDefinition');
  const version = crd.spec.versions[0];
  const schema = version.schema.openAPIV3Schema;
  const spec = schema.properties.spec;
  const status = schema.properties.status;

  it('is an apiextensions.k8s.io/v1 CRD for housekeeper.io/v1alpha1 Update', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.metadata.name).toBe(HOUSEKEEPER_CRD_NAME);
    expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${crd.spec.group}`);
    expect(crd.spec.group).toBe('housekeeper.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({
      kind: 'Update',
      listKind: 'UpdateList',
      plural: 'updates',
      singular: 'update',
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  it('prints Kube version, OS image, Phase and Age', () => {
    expect(version.additionalPrinterColumns.map((c: Any) => [c.jsonPath, c.type])).toEqual([
      ['.spec.kubeVersion', 'string'],
      ['.spec.osImageURL', 'string'],
      ['.status.phase', 'string'],
      ['.metadata.creationTimestamp', 'date'],
    ]);
  });

  it('has a structural schema: every node typed, metadata not restricted', () => {
    const untyped: string[] = [];
    const walk = (node: Any, path: string) => {
      // x-kubernetes-int-or-string stands for the type (structural schemas allow exactly that).
      const intOrString = node['x-kubernetes-int-or-string'] === true;
      if (typeof node.type !== 'string' && !intOrString) untyped.push(path);
      for (const [key, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${key}`);
      if (node.items) walk(node.items, `${path}[]`);
      if ('default' in node) {
        const actual = Number.isInteger(node.default) ? 'integer' : typeof node.default;
        if (intOrString) expect(['integer', 'string'], `default of ${path}`).toContain(actual);
        else expect(actual, `default of ${path}`).toBe(node.type);
      }
    };
    walk(schema, '');
    expect(untyped).toEqual([]);
    expect(schema.properties.metadata).toEqual({ type: 'object' });
    expect(schema.required).toEqual(['spec']);
  });

  it('has the spec fields, types and defaults of the Update API', () => {
    const fields = Object.fromEntries(
      Object.entries(spec.properties).map(([k, v]: [string, Any]) => [k, [v.type, v.default]]),
    );
    expect(fields).toEqual({
      osImageURL: ['string', undefined],
      kubeVersion: ['string', undefined],
      evictPodForce: ['boolean', false],
      deleteEmptyDirData: ['boolean', false],
      maxUnavailable: [undefined, 1],
      maintenanceWindows: ['array', undefined],
      paused: ['boolean', false],
      drainTimeoutSeconds: ['integer', 300],
    });
    // A count of at least 1, or a percentage (the rule's regular expression is checked here too).
    const maxUnavailable = spec.properties.maxUnavailable;
    expect(maxUnavailable['x-kubernetes-int-or-string']).toBe(true);
    expect(maxUnavailable.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
    const rule = maxUnavailable['x-kubernetes-validations'][0].rule as string;
    expect(rule).toContain('self >= 1');
    const percent = new RegExp(/matches\('([^']+)'\)/.exec(rule)![1]!);
    for (const ok of ['1%', '25%', '100%']) expect(percent.test(ok), ok).toBe(true);
    for (const bad of ['0%', '101%', '25', '2.5%']) expect(percent.test(bad), bad).toBe(false);
    const pattern = new RegExp(spec.properties.kubeVersion.pattern);
    expect(pattern.source).toBe('^v\\d+\\.\\d+\\.\\d+$');
    for (const ok of ['v1.30.4', 'v1.35.0']) expect(pattern.test(ok), ok).toBe(true);
    for (const bad of ['1.30.4', 'v1.30', 'v1.30.4-rc.0', '']) expect(pattern.test(bad), bad).toBe(false);
  });

  it('requires osImageURL or kubeVersion with a CEL rule and a message', () => {
    expect(spec.required).toBeUndefined();
    expect(spec['x-kubernetes-validations']).toEqual([
      {
        rule: 'has(self.osImageURL) || has(self.kubeVersion)',
        message: expect.stringMatching(/osImageURL.*kubeVersion/),
      },
    ]);
    // An empty string would pass has(): it must be rejected by the field itself.
    expect(spec.properties.osImageURL.minLength).toBe(1);
  });

  it('has the status fields, phases and map-lists', () => {
    expect(Object.keys(status.properties).sort()).toEqual(
      ['completedAt', 'conditions', 'nodes', 'observedGeneration', 'phase', 'startedAt'].sort(),
    );
    expect(status.properties.phase.enum).toEqual(['Pending', 'Progressing', 'Paused', 'Completed', 'Failed']);
    expect(status.properties.observedGeneration).toMatchObject({ type: 'integer', format: 'int64' });
    for (const t of ['startedAt', 'completedAt']) {
      expect(status.properties[t]).toMatchObject({ type: 'string', format: 'date-time' });
    }

    const conditions = status.properties.conditions;
    expect(conditions).toMatchObject({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
    expect(Object.keys(conditions.items.properties).sort()).toEqual(
      ['lastTransitionTime', 'message', 'observedGeneration', 'reason', 'status', 'type'].sort(),
    );
    expect(conditions.items.required).toContain('type');
    expect(conditions.items.properties.status.enum).toEqual(['True', 'False', 'Unknown']);

    const nodes = status.properties.nodes;
    expect(nodes).toMatchObject({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    expect(nodes.items.required).toContain('name');
    expect(Object.keys(nodes.items.properties).sort()).toEqual(
      [
        'finishedAt',
        'lastError',
        'lastTransitionTime',
        'message',
        'name',
        'phase',
        'role',
        'startedAt',
      ].sort(),
    );
    expect(nodes.items.properties.phase.enum).toEqual([
      'pending',
      'draining',
      'upgrading-os',
      'rebooting',
      'upgrading-kubernetes',
      'verifying',
      'done',
      'failed',
    ]);
  });
});

describe('housekeeper manifests', () => {
  const objects = housekeeperManifests(options);

  it('are ordered so that everything exists before what refers to it', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      `CustomResourceDefinition/${HOUSEKEEPER_CRD_NAME}`,
      `Namespace/${HOUSEKEEPER_NAMESPACE}`,
      'ServiceAccount/housekeeper-agent',
      'ServiceAccount/housekeeper-operator',
      'ClusterRole/housekeeper-agent',
      'ClusterRole/housekeeper-operator',
      'ClusterRoleBinding/housekeeper-agent',
      'ClusterRoleBinding/housekeeper-operator',
      'Role/housekeeper-agent',
      'Role/housekeeper-operator',
      'RoleBinding/housekeeper-agent',
      'RoleBinding/housekeeper-operator',
      'ValidatingAdmissionPolicy/housekeeper-agent-own-node',
      'ValidatingAdmissionPolicy/housekeeper-agent-own-pods',
      'ValidatingAdmissionPolicyBinding/housekeeper-agent-own-node',
      'ValidatingAdmissionPolicyBinding/housekeeper-agent-own-pods',
      'Deployment/housekeeper-operator',
      'DaemonSet/housekeeper-agent',
    ]);
  });

  it('label every object as part of housekeeper, this version, managed by nkd', () => {
    for (const obj of objects) {
      expect(obj.metadata?.labels, `${obj.kind} ${obj.metadata?.name}`).toMatchObject({
        'app.kubernetes.io/part-of': 'housekeeper',
        'app.kubernetes.io/version': '0.1.0',
        'app.kubernetes.io/managed-by': 'nkd',
      });
    }
    // Labels the templates carry themselves are kept.
    expect(find(objects, 'Deployment').metadata.labels['app.kubernetes.io/name']).toBe(
      'housekeeper-operator',
    );
  });

  it('put namespaced objects in housekeeper-system, which enforces the privileged pod-security level', () => {
    const clusterScoped = [
      'CustomResourceDefinition',
      'Namespace',
      'ClusterRole',
      'ClusterRoleBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ];
    for (const obj of objects) {
      expect(obj.metadata?.namespace).toBe(
        clusterScoped.includes(obj.kind) ? undefined : HOUSEKEEPER_NAMESPACE,
      );
    }
    expect(find(objects, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe(
      'privileged',
    );
  });

  it('set the image on every container of both workloads and nowhere else', () => {
    const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet');
    expect(workloads).toHaveLength(2);
    let containers = 0;
    for (const w of workloads) {
      for (const c of podSpec(w).containers) {
        expect(c.image).toBe(IMAGE);
        containers++;
      }
    }
    const json = JSON.stringify(objects);
    expect(json.split(IMAGE).length - 1).toBe(containers);
    expect(json).not.toContain('"image":""');
    expect(json).not.toContain('hub.oepkgs.net');
  });

  it("use nkd's own image of this version when the configured image is empty", () => {
    const defaults = housekeeperManifests({ image: '', nkdVersion: '0.1.0' });
    for (const kind of ['Deployment', 'DaemonSet']) {
      expect(podSpec(find(defaults, kind)).containers[0].image).toBe(
        'hub.oepkgs.net/nestos/nkd-housekeeper:v0.1.0',
      );
    }
  });

  it('point the operator and the agents at the control-plane endpoint when given, not the Service', () => {
    const withEndpoint = housekeeperManifests({ ...options, apiServer: { host: '10.1.2.3', port: 6443 } });
    for (const kind of ['Deployment', 'DaemonSet']) {
      const env = podSpec(find(withEndpoint, kind)).containers[0].env as { name: string; value?: string }[];
      expect(env.filter((e) => e.name.startsWith('KUBERNETES_SERVICE_'))).toEqual([
        { name: 'KUBERNETES_SERVICE_HOST', value: '10.1.2.3' },
        { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
      ]);
      // The template's own variables stay.
      expect(env.some((e) => e.name === 'POD_NAMESPACE')).toBe(true);
    }
    const without = JSON.stringify(housekeeperManifests(options));
    expect(without).not.toContain('KUBERNETES_SERVICE_HOST');
  });

  it('are deterministic and independent between calls', () => {
    const first = housekeeperManifests(options);
    expect(housekeeperManifests(options)).toEqual(first);
    podSpec(find(first, 'Deployment')).containers[0].image = 'mutated';
    (first[0]!.metadata!.labels as Record<string, string>)['x'] = 'y';
    const again = housekeeperManifests(options);
    expect(again).toEqual(objects);
    expect(podSpec(find(again, 'Deployment')).containers[0].image).toBe(IMAGE);
  });

  it('reject a version that is not a valid label value, and an image with whitespace', () => {
    expect(() => housekeeperManifests({ image: IMAGE, nkdVersion: '0.1.0+build.5' })).toThrow(/label value/);
    expect(() => housekeeperManifests({ image: 'a b', nkdVersion: '0.1.0' })).toThrow(/whitespace/);
  });
});

describe('housekeeper workloads', () => {
  const objects = housekeeperManifests(options);
  const deployment = find(objects, 'Deployment', 'housekeeper-operator');
  const daemonSet = find(objects, 'DaemonSet', 'housekeeper-agent');

  it('select their own pods', () => {
    for (const w of [deployment, daemonSet]) {
      const selector = Object.entries(w.spec.selector.matchLabels);
      expect(selector.length).toBeGreaterThan(0);
      for (const [k, v] of selector) expect(w.spec.template.metadata.labels[k]).toBe(v);
    }
  });

  it('are the ones nkd deploy waits for', () => {
    expect(housekeeperWorkloads()).toEqual([
      { kind: 'Deployment', namespace: HOUSEKEEPER_NAMESPACE, name: 'housekeeper-operator' },
      { kind: 'DaemonSet', namespace: HOUSEKEEPER_NAMESPACE, name: 'housekeeper-agent' },
    ]);
  });

  it('run the operator as one non-root, read-only pod on a control-plane node', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    const pod = podSpec(deployment);
    expect(pod.serviceAccountName).toBe('housekeeper-operator');
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(pod.tolerations).toContainEqual({
      key: 'node-role.kubernetes.io/control-plane',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const [c] = pod.containers;
    expect(pod.containers).toHaveLength(1);
    expect(c.command).toEqual(['nkd-housekeeper', 'operator']);
    expect(c.env.map((e: Any) => [e.name, e.valueFrom.fieldRef.fieldPath])).toEqual([
      ['POD_NAMESPACE', 'metadata.namespace'],
      ['POD_NAME', 'metadata.name'],
    ]);
    expect(c.resources.requests).toHaveProperty('memory');
    expect(c.resources.limits).toHaveProperty('memory');
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 8081 });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 8081 });
  });

  it('run the agent privileged on every node with the host root at /host', () => {
    const pod = podSpec(daemonSet);
    expect(daemonSet.spec.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1 },
    });
    expect(pod.serviceAccountName).toBe('housekeeper-agent');
    // operator Exists with no key and no effect tolerates every taint.
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.hostPID).toBe(true);
    const [c] = pod.containers;
    expect(pod.containers).toHaveLength(1);
    expect(c.command).toEqual(['nkd-housekeeper', 'agent']);
    expect(c.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
    expect(c.securityContext).toMatchObject({ privileged: true, runAsUser: 0 });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 8082 });
    const mount = c.volumeMounts.find((m: Any) => m.mountPath === '/host');
    expect(pod.volumes.find((v: Any) => v.name === mount.name).hostPath.path).toBe('/');
  });
});

describe('housekeeper RBAC', () => {
  const objects = housekeeperManifests(options);
  const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as Any[];

  /** One line per (role, group, resource, names, verb), so any widening shows up as a new line. */
  function grants(): string[] {
    const lines: string[] = [];
    for (const role of roles) {
      for (const rule of role.rules) {
        expect(Object.keys(rule).sort()).toEqual(
          rule.resourceNames
            ? ['apiGroups', 'resourceNames', 'resources', 'verbs']
            : ['apiGroups', 'resources', 'verbs'],
        );
        for (const group of rule.apiGroups) {
          for (const resource of rule.resources) {
            for (const verb of rule.verbs) {
              const names = rule.resourceNames ? `[${rule.resourceNames.join(',')}]` : '';
              lines.push(`${role.kind}/${role.metadata.name} ${group || 'core'}/${resource}${names} ${verb}`);
            }
          }
        }
      }
    }
    return lines.sort();
  }

  it('grants exactly the listed verbs', () => {
    // "<role> <group>/<resource>[names]: <verbs>", expanded to one grant per verb.
    const expected = [
      'ClusterRole/housekeeper-operator core/nodes: get list watch patch',
      'ClusterRole/housekeeper-operator core/pods: get list watch',
      'ClusterRole/housekeeper-operator core/events: create',
      'Role/housekeeper-operator housekeeper.io/updates: get list watch',
      'Role/housekeeper-operator housekeeper.io/updates/status: get update patch',
      'Role/housekeeper-operator coordination.k8s.io/leases: create',
      'Role/housekeeper-operator coordination.k8s.io/leases[housekeeper-operator]: get update',
      'ClusterRole/housekeeper-agent core/nodes: get list patch',
      'ClusterRole/housekeeper-agent core/pods: get list delete',
      'ClusterRole/housekeeper-agent core/pods/eviction: create',
      'ClusterRole/housekeeper-agent policy/poddisruptionbudgets: get list',
      'Role/housekeeper-agent housekeeper.io/updates: get',
    ].flatMap((line) => {
      const [target, verbs] = line.split(': ') as [string, string];
      return verbs.split(' ').map((verb) => `${target} ${verb}`);
    });
    expect(grants()).toEqual(expected.sort());
  });

  it('grants no wildcard and nothing on secrets', () => {
    const json = JSON.stringify(roles);
    expect(json).not.toContain('"*"');
    expect(json).not.toContain('secrets');
    for (const obj of objects) expect(obj.kind).not.toMatch(/^(Secret|ConfigMap)$/);
  });

  it('binds each role to its own service account only', () => {
    const bindings = objects.filter((o) => o.kind.endsWith('RoleBinding')) as Any[];
    expect(bindings).toHaveLength(4);
    for (const b of bindings) {
      const roleKind = b.kind === 'ClusterRoleBinding' ? 'ClusterRole' : 'Role';
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: roleKind,
        name: b.metadata.name,
      });
      expect(b.subjects).toEqual([
        { kind: 'ServiceAccount', name: b.metadata.name, namespace: HOUSEKEEPER_NAMESPACE },
      ]);
      find(objects, 'ServiceAccount', b.metadata.name);
    }
  });
});

describe('defaultHousekeeperImage', () => {
  it('tags with v<version>, never vv', () => {
    expect(defaultHousekeeperImage('0.1.0')).toBe('hub.oepkgs.net/nestos/nkd-housekeeper:v0.1.0');
    expect(defaultHousekeeperImage('v0.1.0')).toBe('hub.oepkgs.net/nestos/nkd-housekeeper:v0.1.0');
    expect(defaultHousekeeperImage('1.2.0-rc.1')).toBe('hub.oepkgs.net/nestos/nkd-housekeeper:v1.2.0-rc.1');
  });

  it('refuses a version that is no valid tag', () => {
    expect(() => defaultHousekeeperImage('1.0.0+build.7')).toThrow(/valid image tag/);
    expect(() => defaultHousekeeperImage('')).toThrow(/valid image tag/);
  });
});

describe('housekeeper template files', () => {
  const dir = housekeeperTemplatesDir();
  let scratch: string | undefined;
  afterEach(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  });

  function copyTemplates(): string {
    scratch = mkdtempSync(join(tmpdir(), 'nkd-housekeeper-'));
    cpSync(dir, scratch, { recursive: true });
    return scratch;
  }

  it('are exactly the loaded files, and each parses without errors or warnings', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
    expect(files.sort()).toEqual([...HOUSEKEEPER_TEMPLATE_FILES].sort());
    for (const file of files) {
      const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { uniqueKeys: true });
      for (const doc of docs) {
        expect(doc.errors, file).toEqual([]);
        expect(doc.warnings, file).toEqual([]);
      }
    }
  });

  it('fail with the file name when one is missing', () => {
    const copy = copyTemplates();
    unlinkSync(join(copy, 'agent.yaml'));
    expect(() => readHousekeeperTemplates(copy)).toThrow(/cannot read template .*agent\.yaml/);
  });

  it('fail with the file and line when one is malformed', () => {
    const copy = copyTemplates();
    writeFileSync(join(copy, 'namespace.yaml'), 'apiVersion: v1\nkind: Namespace\nkind: Namespace\n');
    expect(() => readHousekeeperTemplates(copy)).toThrow(/namespace\.yaml is malformed: .*line 3/s);
    writeFileSync(join(copy, 'namespace.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {}\n');
    expect(() => readHousekeeperTemplates(copy)).toThrow(/namespace\.yaml.*has no metadata\.name/);
  });

  it('must define the workloads the code expects', () => {
    const objects = readHousekeeperTemplates().filter((o) => o.kind !== 'DaemonSet');
    expect(() => checkHousekeeperTemplates(objects)).toThrow(
      /define no DaemonSet housekeeper-system\/housekeeper-agent/,
    );
    const stray = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: HOUSEKEEPER_NAMESPACE },
    };
    expect(() => checkHousekeeperTemplates([...readHousekeeperTemplates(), stray])).toThrow(/unexpected/);
    const checked = checkHousekeeperTemplates(readHousekeeperTemplates());
    expect(buildHousekeeperManifests(checked, options)).toEqual(housekeeperManifests(options));
  });
});
