// What the API server's RBAC authorizer would decide for a request, from rendered manifests: the request
// attributes as the API server derives them from a method and a path (k8s.io/apiserver RequestInfo), and
// the rules of every (Cluster)Role bound to a service account. Enough of RBAC for nkd's own manifests:
// rules with apiGroups/resources/verbs/resourceNames, ClusterRoleBindings and RoleBindings to roles or
// cluster roles. Not modelled: aggregation, nonResourceURLs, subjects other than service accounts.
import type { KubeObject } from '../../src/cluster/types.js';

export interface RequestAttributes {
  /** Set for a non-resource request (/version, /healthz): its path. */
  nonResourcePath?: string;
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** The RBAC attributes of a resource request, as the API server's RequestInfoFactory derives them. */
export function requestAttributes(method: string, url: string): RequestAttributes {
  const [path, query = ''] = url.split('?') as [string, string?];
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  let apiGroup: string;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    apiGroup = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    apiGroup = parts[1]!;
    rest = parts.slice(3);
  } else {
    const verb = method === 'GET' ? 'get' : method.toLowerCase();
    return {
      nonResourcePath: path,
      verb,
      apiGroup: '',
      resource: '',
      subresource: '',
      namespace: '',
      name: '',
    };
  }
  let namespace = '';
  // /namespaces/<ns>/<resource>...: a namespaced request (a bare /namespaces/<ns> is the Namespace itself).
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = ''] = rest;
  const watch = new URLSearchParams(query).get('watch') === 'true';
  const verbs: Record<string, string> = {
    GET: name ? 'get' : watch ? 'watch' : 'list',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: name ? 'delete' : 'deletecollection',
  };
  const verb = verbs[method];
  if (!verb) throw new Error(`no RBAC verb for ${method}`);
  return { verb, apiGroup, resource, subresource, namespace, name };
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

function ruleAllows(rule: Rule, a: RequestAttributes): boolean {
  const has = (list: string[] | undefined, value: string) =>
    (list ?? []).some((v) => v === '*' || v === value);
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.apiGroup) || !has(rule.resources, resource)) {
    return false;
  }
  // resourceNames restrict to named objects: a request without a name (create, list) never matches them.
  return !rule.resourceNames?.length || (a.name !== '' && rule.resourceNames.includes(a.name));
}

const ref = (o: KubeObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** Whether the service account `namespace/name` may make the request under the given manifests. */
/**
 * Non-resource paths every identity may GET under Kubernetes' default bootstrap policy: the ClusterRole
 * system:public-info-viewer (bound to system:authenticated and system:unauthenticated).
 */
const PUBLIC_INFO = new Set(['/healthz', '/livez', '/readyz', '/version', '/version/']);

export function rbacAllows(
  manifests: readonly KubeObject[],
  serviceAccount: { namespace: string; name: string },
  a: RequestAttributes,
): boolean {
  if (a.nonResourcePath !== undefined) return a.verb === 'get' && PUBLIC_INFO.has(a.nonResourcePath);
  const roles = new Map(
    manifests.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole').map((o) => [ref(o), o]),
  );
  for (const binding of manifests) {
    if (binding.kind !== 'ClusterRoleBinding' && binding.kind !== 'RoleBinding') continue;
    const b = binding as KubeObject & {
      subjects?: { kind: string; name: string; namespace?: string }[];
      roleRef: { kind: string; name: string };
    };
    const bound = (b.subjects ?? []).some(
      (s) =>
        s.kind === 'ServiceAccount' &&
        s.name === serviceAccount.name &&
        s.namespace === serviceAccount.namespace,
    );
    if (!bound) continue;
    // A RoleBinding grants only inside its namespace, whatever role it refers to.
    const bindingNamespace = b.metadata?.namespace ?? '';
    if (binding.kind === 'RoleBinding' && a.namespace !== bindingNamespace) continue;
    const roleNamespace = b.roleRef.kind === 'Role' ? bindingNamespace : '';
    const role = roles.get(`${b.roleRef.kind}/${roleNamespace}/${b.roleRef.name}`) as
      (KubeObject & { rules?: Rule[] }) | undefined;
    if ((role?.rules ?? []).some((rule) => ruleAllows(rule, a))) return true;
  }
  return false;
}
