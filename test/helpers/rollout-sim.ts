// A simulated cluster for Housekeeper rollouts: the in-process Kubernetes API fake with control-plane and
// worker nodes, the real operator and one real node agent per node, each agent driving a scripted NestOS
// host. Time is a clock the simulation advances; a "tick" is one operator pass and one pass of every
// agent. A host that asked to reboot comes back in the next tick on its staged image, with the kubelet
// that image carries, and its agent restarts (a fresh NodeAgent, as after a pod restart).
import { NodeAgent } from '../../src/housekeeper/agent/agent.js';
import { housekeeperKube } from '../../src/housekeeper/kube-client.js';
import { Operator } from '../../src/housekeeper/operator.js';
import type { HousekeeperKube, UpdateObject } from '../../src/housekeeper/types.js';
import type { ClusterPki } from '../../src/pki/types.js';
import type { FakeKubeApi } from './fake-kube-api.js';
import { ScriptedHost } from './scripted-host.js';

export const OPERATOR_TOKEN = 'operator-token-for-tests';
export const AGENT_TOKEN = 'agent-token-for-tests';
export const OPERATOR_IDENTITY = 'system:serviceaccount:housekeeper-system:housekeeper-operator';
export const AGENT_IDENTITY = 'system:serviceaccount:housekeeper-system:housekeeper-agent';

export interface SimNode {
  name: string;
  role: 'control-plane' | 'worker';
}

export interface RolloutSim {
  hosts: Map<string, ScriptedHost>;
  operator: Operator;
  tick(): Promise<void>;
  /** Ticks until `done` says so, or throws after `max` ticks. */
  until(done: () => Promise<boolean> | boolean, max?: number): Promise<number>;
  update(name: string): Promise<UpdateObject | undefined>;
  close(): void;
}

export function rolloutSim(options: {
  api: FakeKubeApi;
  pki: ClusterPki;
  nodes: SimNode[];
  oldImage: string;
  /** What a host booted on this image runs (kubeadm and kubelet version). */
  versionOfImage: (image: string) => string;
  tlsServerName?: string;
  tickMs?: number;
}): RolloutSim {
  let clock = Date.parse('2026-11-22T10:00:00Z');
  const now = () => new Date(clock);
  const kubeFor = (token: string): HousekeeperKube & { close(): void } =>
    housekeeperKube({
      server: options.api.url,
      caPem: options.pki.clusterCa.certPem,
      auth: { bearerToken: () => token },
      ...(options.tlsServerName ? { tlsServerName: options.tlsServerName } : {}),
    });
  const operatorKube = kubeFor(OPERATOR_TOKEN);
  const agentKube = kubeFor(AGENT_TOKEN);
  const operator = new Operator({
    kube: operatorKube,
    namespace: 'housekeeper-system',
    identity: 'operator-0',
    now,
  });
  const hosts = new Map<string, ScriptedHost>();
  const agents = new Map<string, NodeAgent>();
  const newAgent = (name: string) =>
    new NodeAgent({
      nodeName: name,
      namespace: 'housekeeper-system',
      kube: agentKube,
      host: hosts.get(name)!,
      now,
      sleep: async () => {},
    });

  for (const node of options.nodes) {
    const version = options.versionOfImage(options.oldImage);
    const host = new ScriptedHost({
      booted: `ostree-unverified-registry:${options.oldImage}`,
      kubeadmVersion: version,
      ...(node.role === 'control-plane' ? { controlPlaneVersion: version } : {}),
    });
    host.versionOfImage = options.versionOfImage;
    host.onCommand = (line) => {
      if (line === 'systemctl restart kubelet') setKubelet(node.name, host.kubeadmVersion);
      if (line === 'systemctl reboot')
        options.api.setNodeReady(node.name, false, { reason: 'NodeStatusUnknown', message: 'rebooting' });
    };
    hosts.set(node.name, host);
    agents.set(node.name, newAgent(node.name));
  }

  function setKubelet(name: string, version: string): void {
    const fakeNode = options.api.nodes.find((n) => n.name === name);
    if (fakeNode) fakeNode.kubeletVersion = version;
  }

  async function tick(): Promise<void> {
    clock += options.tickMs ?? 5000;
    await operator.reconcileOnce();
    for (const node of options.nodes) {
      const host = hosts.get(node.name)!;
      if (host.rebootRequested) {
        host.reboot();
        host.kubeadmVersion = options.versionOfImage(host.booted.replace(/^ostree-unverified-registry:/, ''));
        setKubelet(node.name, host.kubeadmVersion); // the new image's kubelet starts at boot
        options.api.setNodeReady(node.name, true);
        agents.set(node.name, newAgent(node.name));
      }
      await agents.get(node.name)!.step();
    }
  }

  return {
    hosts,
    operator,
    tick,
    async until(done, max = 200) {
      for (let i = 1; i <= max; i++) {
        await tick();
        if (await done()) return i;
      }
      // Say where it stuck: the Updates' status and each host's state.
      const updates = await operatorKube.listUpdates('housekeeper-system').catch(() => []);
      const hostView = [...hosts].map(([n, h]) => `${n}: booted ${h.booted}, kubeadm ${h.kubeadmVersion}`);
      throw new Error(
        `rollout did not get there in ${max} ticks\n${JSON.stringify(
          updates.map((u) => u.status),
          null,
          1,
        )}\n${hostView.join('\n')}`,
      );
    },
    update: (name) => operatorKube.getUpdate('housekeeper-system', name),
    close() {
      operatorKube.close();
      agentKube.close();
    },
  };
}
