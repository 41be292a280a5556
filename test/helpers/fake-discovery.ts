// Discovery of the fake Kubernetes API (/api, /apis, /api/v1, /apis/<group>/<version>): the built-in kinds
// nkd and Housekeeper use, plus the kinds of applied or created CustomResourceDefinitions. Also knows which
// resources have a status subresource (built-ins that do; CRDs declaring `subresources.status`).
import type { ServerResponse } from 'node:http';
import { sendJson, sendStatus } from './fake-http.js';

export interface ResourceInfo {
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
}

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function resource(name: string, kind: string, namespaced: boolean): ResourceInfo {
  return { name, singularName: kind.toLowerCase(), kind, namespaced };
}

/** groupVersion ("v1", "apps/v1") → resources served there. */
function builtinDiscovery(): Map<string, ResourceInfo[]> {
  return new Map([
    [
      'v1',
      [
        resource('namespaces', 'Namespace', false),
        resource('nodes', 'Node', false),
        resource('pods', 'Pod', true),
        resource('serviceaccounts', 'ServiceAccount', true),
        resource('configmaps', 'ConfigMap', true),
        resource('secrets', 'Secret', true),
        resource('services', 'Service', true),
      ],
    ],
    ['apiextensions.k8s.io/v1', [resource('customresourcedefinitions', 'CustomResourceDefinition', false)]],
    [
      'rbac.authorization.k8s.io/v1',
      [
        resource('clusterroles', 'ClusterRole', false),
        resource('clusterrolebindings', 'ClusterRoleBinding', false),
        resource('roles', 'Role', true),
        resource('rolebindings', 'RoleBinding', true),
      ],
    ],
    ['apps/v1', [resource('deployments', 'Deployment', true), resource('daemonsets', 'DaemonSet', true)]],
    ['policy/v1', [resource('poddisruptionbudgets', 'PodDisruptionBudget', true)]],
    ['coordination.k8s.io/v1', [resource('leases', 'Lease', true)]],
    // Stored only: the fake runs no admission (real policies are tested against a real API server).
    [
      'admissionregistration.k8s.io/v1',
      [
        resource('validatingadmissionpolicies', 'ValidatingAdmissionPolicy', false),
        resource('validatingadmissionpolicybindings', 'ValidatingAdmissionPolicyBinding', false),
      ],
    ],
  ]);
}

/** Built-in resources with a status subresource ("<groupVersion>/<resource>"). */
const BUILTIN_STATUS = [
  'v1/namespaces',
  'v1/nodes',
  'v1/pods',
  'v1/services',
  'apiextensions.k8s.io/v1/customresourcedefinitions',
  'apps/v1/deployments',
  'apps/v1/daemonsets',
  'policy/v1/poddisruptionbudgets',
];

/** "pods", "leases.coordination.k8s.io": how the API names a resource in its messages. */
export function qualifiedResource(groupVersion: string, resourceName: string): string {
  const group = groupVersion.includes('/') ? groupVersion.split('/')[0]! : '';
  return group === '' ? resourceName : `${resourceName}.${group}`;
}

export class Discovery {
  private readonly byGroupVersion = builtinDiscovery();
  private readonly withStatus = new Set(BUILTIN_STATUS);
  private readonly custom = new Set<string>();

  find(groupVersion: string, name: string): ResourceInfo | undefined {
    return this.byGroupVersion.get(groupVersion)?.find((r) => r.name === name);
  }

  hasStatusSubresource(groupVersion: string, name: string): boolean {
    return this.withStatus.has(`${groupVersion}/${name}`);
  }

  /** Served from a CustomResourceDefinition (updates need metadata.resourceVersion). */
  isCustom(groupVersion: string, name: string): boolean {
    return this.custom.has(`${groupVersion}/${name}`);
  }

  registerCrd(crd: Record<string, unknown>): void {
    const spec = crd.spec as
      | {
          group?: string;
          scope?: string;
          names?: { plural?: string; singular?: string; kind?: string };
          versions?: { name?: string; served?: boolean; subresources?: { status?: unknown } }[];
        }
      | undefined;
    const names = spec?.names;
    if (!spec?.group || !names?.plural || !names.kind) return;
    for (const v of spec.versions ?? []) {
      if (!v.name || v.served === false) continue;
      const gv = `${spec.group}/${v.name}`;
      const list = this.byGroupVersion.get(gv) ?? [];
      if (!list.some((r) => r.kind === names.kind)) {
        list.push({
          name: names.plural,
          singularName: names.singular ?? names.kind.toLowerCase(),
          kind: names.kind,
          namespaced: spec.scope === 'Namespaced',
        });
      }
      this.byGroupVersion.set(gv, list);
      this.custom.add(`${gv}/${names.plural}`);
      if (v.subresources?.status !== undefined) this.withStatus.add(`${gv}/${names.plural}`);
      else this.withStatus.delete(`${gv}/${names.plural}`);
    }
  }

  /** Answers a discovery GET; false when `path` is not one. */
  serve(method: string, path: string, res: ServerResponse): boolean {
    if (method !== 'GET') return false;
    if (path === '/api') {
      sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      return true;
    }
    if (path === '/apis') {
      const groups = new Map<string, string[]>();
      for (const gv of this.byGroupVersion.keys()) {
        if (!gv.includes('/')) continue;
        const [group, version] = gv.split('/') as [string, string];
        groups.set(group, [...(groups.get(group) ?? []), version]);
      }
      sendJson(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...groups].map(([name, versions]) => ({
          name,
          versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
          preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
        })),
      });
      return true;
    }
    const gvMatch = /^\/(?:api\/([^/]+)|apis\/([^/]+\/[^/]+))\/?$/.exec(path);
    if (!gvMatch) return false;
    const gv = gvMatch[1] ?? gvMatch[2]!;
    const list = this.byGroupVersion.get(gv);
    if (!list) {
      sendStatus(res, 404, 'the server could not find the requested resource');
      return true;
    }
    sendJson(res, 200, {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: gv,
      resources: list.map((r) => ({ ...r, verbs: VERBS })),
    });
    return true;
  }
}
