/**
 * Housekeeper's RBAC and admission policies against a real kube-apiserver (and etcd) on loopback: the
 * rendered manifests are created as nkd renders them, an agent token is issued for a pod on node A by
 * the API server's TokenRequest (so it carries the node claim), and the agent's real client
 * (src/housekeeper/kube-client.ts) is what calls. The control plane is test/helpers/real-api.ts's, with
 * nkd's PKI, deliberately minimal (no controller manager, scheduler or kwok: no kubelet either): what is
 * tested is the API server's authorization and admission of the agent's requests.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { housekeeperManifests } from '../../src/addons/housekeeper/manifests.js';
import type { KubeObject } from '../../src/cluster/types.js';
import { housekeeperKube } from '../../src/housekeeper/kube-client.js';
import { LeaderElector } from '../../src/housekeeper/leader.js';
import { Operator } from '../../src/housekeeper/operator.js';
import { kubeClient, type KubeClient } from '../../src/kube/client.js';
import {
  KubeStatusError,
  LEAVE_ANNOTATION,
  PROGRESS_ANNOTATION,
  TARGET_ANNOTATION,
} from '../../src/housekeeper/types.js';
import { loadPki } from '../../src/pki/index.js';
import { describeReal } from '../helpers/real.js';
import { dryRunState, realApiRequirement, startRealCluster } from '../helpers/real-api.js';

const NS = 'housekeeper-system';
const OPTIONS = { controllerManager: false, scheduler: false, kwok: false } as const;

interface ControlPlane {
  server: string;
  caPem: string;
  admin: KubeClient;
  stop(): Promise<void>;
}

/** The shared harness's etcd and kube-apiserver; nkd's admin certificate (system:masters) as admin. */
async function startControlPlane(): Promise<ControlPlane> {
  const state = await dryRunState();
  const pki = await loadPki(join(state.clusterDir, 'pki'));
  const cluster = await startRealCluster({ clusterDir: state.clusterDir, ...OPTIONS });
  const admin = kubeClient({
    server: cluster.server,
    caPem: pki.clusterCa.certPem,
    auth: { clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem },
  });
  return {
    server: cluster.server,
    caPem: pki.clusterCa.certPem,
    admin,
    async stop() {
      admin.close();
      await cluster.stop();
      state.remove();
    },
  };
}

/** Where each kind rendered for Housekeeper is created. */
function collection(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const paths: Record<string, string> = {
    Namespace: '/api/v1/namespaces',
    ServiceAccount: `/api/v1/namespaces/${ns}/serviceaccounts`,
    ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    Role: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
    RoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
    ValidatingAdmissionPolicy: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
    ValidatingAdmissionPolicyBinding:
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
    CustomResourceDefinition: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  };
  const path = paths[obj.kind];
  if (!path) throw new Error(`no path for ${obj.kind}`);
  return path;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeReal(
  'Housekeeper RBAC and admission on a real API server',
  realApiRequirement({ ...OPTIONS, kubectl: false }),
  () => {
    let cp: ControlPlane;
    let agentA: ReturnType<typeof housekeeperKube>;

    beforeAll(async () => {
      cp = await startControlPlane();
      const rendered = housekeeperManifests({
        image: 'hub.example/nkd-housekeeper:test',
        nkdVersion: '0.1.0',
      });
      for (const obj of rendered.filter((o) => o.kind !== 'Deployment' && o.kind !== 'DaemonSet')) {
        await cp.admin.call('POST', collection(obj), { body: obj });
      }
      for (const name of ['node-a', 'node-b']) {
        await cp.admin.call('POST', '/api/v1/nodes', {
          body: { apiVersion: 'v1', kind: 'Node', metadata: { name } },
        });
      }
      // The agent's pod on node-a (no kubelet runs it: the API server only needs it to bind the token).
      const pod = (await cp.admin.call('POST', `/api/v1/namespaces/${NS}/pods`, {
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'housekeeper-agent-a' },
          spec: {
            serviceAccountName: 'housekeeper-agent',
            nodeName: 'node-a',
            containers: [{ name: 'agent', image: 'x' }],
          },
        },
      })) as { metadata: { uid: string } };
      const token = (await cp.admin.call(
        'POST',
        `/api/v1/namespaces/${NS}/serviceaccounts/housekeeper-agent/token`,
        {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: {
              boundObjectRef: {
                apiVersion: 'v1',
                kind: 'Pod',
                name: 'housekeeper-agent-a',
                uid: pod.metadata.uid,
              },
            },
          },
        },
      )) as { status: { token: string } };
      agentA = housekeeperKube({
        server: cp.server,
        caPem: cp.caPem,
        auth: { bearerToken: () => token.status.token },
      });
      // Policies take effect once the API server's admission informers saw them: wait for a denial.
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await agentA.patchNode('node-b', { metadata: { annotations: { 'probe.example/x': '1' } } });
          await cp.admin.call('PATCH', '/api/v1/nodes/node-b', {
            body: { metadata: { annotations: { 'probe.example/x': null } } },
            contentType: 'application/merge-patch+json',
          });
        } catch (err) {
          if (
            err instanceof KubeStatusError &&
            err.status !== 404 &&
            /Node its token was issued for/.test(err.message)
          )
            break;
          if (!(err instanceof KubeStatusError)) throw err;
        }
        if (Date.now() > deadline) throw new Error('the admission policy never took effect');
        await sleep(500);
      }
    }, 180_000);

    afterAll(async () => {
      agentA?.close();
      await cp?.stop();
    });

    const annotate = (node: string, annotations: Record<string, string>) =>
      agentA.patchNode(node, { metadata: { annotations } });

    it("lets the agent's identity list nodes (its readiness probe)", async () => {
      const nodes = await agentA.listNodes();
      expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['node-a', 'node-b']);
    });

    it("denies an agent token for node A any write to node B's annotations", async () => {
      const progress = JSON.stringify({ key: 'x', phase: 'failed', startedAt: 'a', lastTransitionTime: 'a' });
      const err = await annotate('node-b', { [PROGRESS_ANNOTATION]: progress }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeStatusError);
      expect((err as KubeStatusError).status).toBe(403);
      expect((err as KubeStatusError).message).toMatch(/may change only the Node its token was issued for/);
      await expect(agentA.patchNode('node-b', { spec: { unschedulable: true } })).rejects.toThrow(
        /issued for/,
      );
    });

    it('lets it write its own progress and cordon its own node, but never a target or a leave request', async () => {
      await annotate('node-a', { [PROGRESS_ANNOTATION]: '{"key":"k"}' });
      await agentA.patchNode('node-a', { spec: { unschedulable: true } });
      const node = await agentA.getNode('node-a');
      expect(node?.metadata.annotations?.[PROGRESS_ANNOTATION]).toBe('{"key":"k"}');
      expect(node?.spec?.unschedulable).toBe(true);
      for (const annotation of [TARGET_ANNOTATION, LEAVE_ANNOTATION]) {
        await expect(annotate('node-a', { [annotation]: '{"key":"evil"}' })).rejects.toThrow(
          /only its own annotations/,
        );
      }
      await expect(
        agentA.patchNode('node-a', { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } }),
      ).rejects.toThrow(/labels or taints/);
    });

    it("runs the operator's whole reconcile and leader election under its own RBAC, and the agent reads the Update", async () => {
      const { status } = (await cp.admin.call(
        'POST',
        `/api/v1/namespaces/${NS}/serviceaccounts/housekeeper-operator/token`,
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } },
      )) as { status: { token: string } };
      const operatorKube = housekeeperKube({
        server: cp.server,
        caPem: cp.caPem,
        auth: { bearerToken: () => status.token },
      });
      try {
        const update = {
          apiVersion: 'housekeeper.io/v1alpha1',
          kind: 'Update',
          metadata: { name: 'to-new', namespace: NS },
          spec: { osImageURL: 'hub.example/nestos:new' },
        };
        // The CRD serves once it is established: retry the create until then.
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            await cp.admin.call('POST', `/apis/housekeeper.io/v1alpha1/namespaces/${NS}/updates`, {
              body: update,
            });
            break;
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await sleep(500);
          }
        }
        // The CRD's rules, as the API server applies them: maxUnavailable a count or a percentage.
        const create = (name: string, spec: Record<string, unknown>) =>
          cp.admin.call('POST', `/apis/housekeeper.io/v1alpha1/namespaces/${NS}/updates`, {
            body: { ...update, metadata: { name, namespace: NS }, spec },
          });
        await create('percent', {
          kubeVersion: 'v1.37.3',
          maxUnavailable: '25%',
          paused: true,
          maintenanceWindows: [{ days: ['Sat', 'Sun'], start: '22:00', end: '04:00' }],
        });
        await expect(
          create('bad', { kubeVersion: 'v1.37.3', maintenanceWindows: [{ start: '25:00', end: '04:00' }] }),
        ).rejects.toThrow(/422/);
        for (const bad of [0, '0%', '150%', 'two']) {
          await expect(create('bad', { kubeVersion: 'v1.37.3', maxUnavailable: bad })).rejects.toThrow(
            /maxUnavailable|422/,
          );
        }
        await expect(create('empty', {})).rejects.toThrow(/set osImageURL, kubeVersion, or both/);
        await cp.admin.call('DELETE', `/apis/housekeeper.io/v1alpha1/namespaces/${NS}/updates/percent`);
        const elector = new LeaderElector({
          kube: operatorKube,
          namespace: NS,
          identity: 'operator-0',
          leaseDurationSeconds: 30,
          now: () => new Date(),
        });
        expect(await elector.tryLead()).toBe(true);
        await new Operator({ kube: operatorKube, namespace: NS, identity: 'operator-0' }).reconcileOnce();
        const written = await operatorKube.getUpdate(NS, 'to-new');
        expect(written?.status?.phase).toBe('Progressing');
        const handed = (await operatorKube.listNodes()).filter(
          (n) => n.metadata.annotations?.[TARGET_ANNOTATION],
        );
        expect(handed.map((n) => n.metadata.name)).toEqual(['node-a']);
        expect((await agentA.getUpdate(NS, 'to-new'))?.spec.osImageURL).toBe('hub.example/nestos:new');
        // Its events were accepted: on the Update (housekeeper-system) and on the Node ("default").
        const reasons = async (namespace: string) =>
          (
            (await cp.admin.call('GET', `/api/v1/namespaces/${namespace}/events`)) as {
              items: { reason: string }[];
            }
          ).items
            .map((e) => e.reason)
            .sort();
        expect(await reasons(NS)).toEqual(['NodeHandedOut', 'Progressing']);
        expect(await reasons('default')).toEqual(['HousekeeperUpgrade']);
        await elector.release();
      } finally {
        operatorKube.close();
      }
    });
  },
);
