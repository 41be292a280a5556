// Pure: turns the plan, the cluster PKI and the compiled templates into each node's complete Ignition
// config and kubeadm file. What a node gets depends on its role:
//   every node: identity, admin user, kernel settings, runtime, kubelet, swap off, optional OS rebase;
//   control plane: the shared CA material (init and join-control-plane);
//   workers: only the cluster CA certificate (public) and the join token, never a private key.
import type { ClusterPki } from '../pki/types.js';
import { endpointText } from '../plan/plan.js';
import type { ClusterPlan, NodePlan } from '../plan/types.js';
import {
  MODE_EXECUTABLE,
  MODE_PRIVATE_DIRECTORY,
  MODE_PUBLIC,
  MODE_SECRET,
  NodeAssets,
  serializeIgnition,
} from './ignition.js';
import type { IgnitionConfig } from './ignition-types.js';
import { addKeepalived } from './keepalived.js';
import { kubeadmDocuments, serializeKubeadm } from './kubeadm.js';
import { RUNTIMES } from './runtimes.js';
import { renderTemplate, type TemplateSet } from './templates.js';

export interface RenderInputs {
  plan: ClusterPlan;
  pki: ClusterPki;
  templates: TemplateSet;
}

export interface RenderedNode {
  node: NodePlan;
  ignition: IgnitionConfig;
  ignitionText: string;
  kubeadmText: string;
}

/** Kernel modules and sysctls every Kubernetes node needs for bridged pod traffic and routing. */
const KERNEL_MODULES = 'overlay\nbr_netfilter\n';
const SYSCTLS =
  [
    'net.bridge.bridge-nf-call-iptables = 1',
    'net.bridge.bridge-nf-call-ip6tables = 1',
    'net.ipv4.ip_forward = 1',
  ].join('\n') + '\n';
/** The admin user lands in wheel, which NestOS grants sudo. */
const ADMIN_GROUPS = ['wheel'];

const ACTIONS: Record<NodePlan['bootstrap'], { action: string; command: string }> = {
  init: { action: 'kubeadm init', command: 'kubeadm init' },
  'join-control-plane': { action: 'kubeadm join --control-plane', command: 'kubeadm join' },
  join: { action: 'kubeadm join', command: 'kubeadm join' },
};

interface PkiFile {
  name: string;
  contents: string;
  mode: number;
}

/** Shared CA material, named as kubeadm expects it under /etc/kubernetes/pki. */
function controlPlanePkiFiles(pki: ClusterPki): PkiFile[] {
  return [
    { name: 'ca.crt', contents: pki.clusterCa.certPem, mode: MODE_PUBLIC },
    { name: 'ca.key', contents: pki.clusterCa.keyPem, mode: MODE_SECRET },
    { name: 'etcd/ca.crt', contents: pki.etcdCa.certPem, mode: MODE_PUBLIC },
    { name: 'etcd/ca.key', contents: pki.etcdCa.keyPem, mode: MODE_SECRET },
    { name: 'front-proxy-ca.crt', contents: pki.frontProxyCa.certPem, mode: MODE_PUBLIC },
    { name: 'front-proxy-ca.key', contents: pki.frontProxyCa.keyPem, mode: MODE_SECRET },
    { name: 'sa.key', contents: pki.serviceAccount.privateKeyPem, mode: MODE_SECRET },
    { name: 'sa.pub', contents: pki.serviceAccount.publicKeyPem, mode: MODE_PUBLIC },
  ];
}

function workerPkiFiles(pki: ClusterPki): PkiFile[] {
  return [{ name: 'ca.crt', contents: pki.clusterCa.certPem, mode: MODE_PUBLIC }];
}

const controlPlaneHostLines = new WeakMap<ClusterPlan, string>();

/** Control-plane names only: listing every node on every node would make rendering quadratic. */
function etcHosts(plan: ClusterPlan, node: NodePlan): string {
  let shared = controlPlaneHostLines.get(plan);
  if (shared === undefined) {
    const lines = ['127.0.0.1 localhost localhost.localdomain', '::1 localhost localhost.localdomain'];
    for (const n of plan.nodes) if (n.role === 'control-plane') lines.push(`${n.address} ${n.name}`);
    shared = `${lines.join('\n')}\n`;
    controlPlaneHostLines.set(plan, shared);
  }
  return node.role === 'control-plane' ? shared : `${shared}${node.address} ${node.name}\n`;
}

function addIdentity(assets: NodeAssets, plan: ClusterPlan, node: NodePlan): void {
  assets.file('/etc/hostname', `${node.name}\n`).file('/etc/hosts', etcHosts(plan, node));
  assets.user({
    name: plan.access.user,
    sshAuthorizedKeys: [...plan.access.sshAuthorizedKeys],
    groups: ADMIN_GROUPS,
  });
}

function addKubernetesBase(assets: NodeAssets, inputs: RenderInputs): void {
  const { plan, templates } = inputs;
  const runtime = RUNTIMES[plan.runtime.name];
  const rebase = plan.os.releaseImage !== '';
  assets.file('/etc/modules-load.d/nkd-kubernetes.conf', KERNEL_MODULES);
  assets.file('/etc/sysctl.d/90-nkd-kubernetes.conf', SYSCTLS);
  // OS updates are Housekeeper's: no Zincati auto-updates (reboots without a drain).
  assets.file(
    '/etc/zincati/config.d/90-nkd-housekeeper.toml',
    renderTemplate(templates, 'common/etc/zincati/config.d/90-nkd-housekeeper.toml', {}),
  );
  runtime.apply(assets, plan, templates);
  assets.unit(
    'nkd-swapoff.service',
    renderTemplate(templates, 'common/etc/systemd/system/nkd-swapoff.service', {}),
  );
  assets.enable('kubelet.service', {
    name: '20-nkd.conf',
    contents: renderTemplate(templates, 'common/etc/systemd/system/kubelet.service.d/20-nkd.conf', {
      runtimeService: runtime.service,
      rebase,
    }),
  });
  if (rebase) {
    const context = { image: plan.os.releaseImage };
    assets.unit(
      'nkd-rebase.service',
      renderTemplate(templates, 'common/etc/systemd/system/nkd-rebase.service', context),
    );
    assets.file(
      '/usr/local/bin/nkd-rebase',
      renderTemplate(templates, 'common/usr/local/bin/nkd-rebase', context),
      MODE_EXECUTABLE,
    );
  }
}

function addBootstrap(assets: NodeAssets, inputs: RenderInputs, node: NodePlan, kubeadmText: string): void {
  const { plan, pki, templates } = inputs;
  const controlPlane = node.role === 'control-plane';
  const pkiFiles = controlPlane ? controlPlanePkiFiles(pki) : workerPkiFiles(pki);
  assets.directory('/etc/nkd', MODE_PRIVATE_DIRECTORY).directory('/etc/nkd/pki', MODE_PRIVATE_DIRECTORY);
  if (controlPlane) assets.directory('/etc/nkd/pki/etcd', MODE_PRIVATE_DIRECTORY);
  for (const file of pkiFiles) assets.file(`/etc/nkd/pki/${file.name}`, file.contents, file.mode);
  assets.file('/etc/nkd/kubeadm.yaml', kubeadmText, MODE_SECRET);

  const { action, command } = ACTIONS[node.bootstrap];
  const runtimeService = RUNTIMES[plan.runtime.name].service;
  const rebase = plan.os.releaseImage !== '';
  const script = renderTemplate(templates, 'common/usr/local/bin/nkd-kubeadm', {
    nodeName: node.name,
    action,
    command,
    joins: node.bootstrap !== 'init',
    controlPlane,
    endpoint: endpointText(plan.kubernetes.controlPlaneEndpoint),
    criSocket: plan.runtime.criSocket,
    socketPath: plan.runtime.criSocket.replace(/^unix:\/\//, ''),
    pkiFiles: pkiFiles.map((f) => ({ name: f.name, mode: f.mode.toString(8).padStart(4, '0') })),
  });
  assets.file('/usr/local/bin/nkd-kubeadm', script, MODE_EXECUTABLE);
  assets.unit(
    'nkd-kubeadm.service',
    renderTemplate(templates, 'common/etc/systemd/system/nkd-kubeadm.service', {
      action,
      runtimeService,
      rebase,
    }),
  );
}

export function renderNode(inputs: RenderInputs, node: NodePlan): RenderedNode {
  const secrets = { bootstrapToken: inputs.pki.bootstrapToken, caCertHash: inputs.pki.caCertHash };
  const kubeadmText = serializeKubeadm(kubeadmDocuments(inputs.plan, node, secrets));
  const assets = new NodeAssets();
  addIdentity(assets, inputs.plan, node);
  addKubernetesBase(assets, inputs);
  addKeepalived(assets, { ...inputs, vrrpPassword: inputs.pki.vrrpPassword }, node);
  addBootstrap(assets, inputs, node, kubeadmText);
  const ignition = assets.toConfig();
  return { node, ignition, ignitionText: serializeIgnition(ignition), kubeadmText };
}

export function renderCluster(inputs: RenderInputs): RenderedNode[] {
  return inputs.plan.nodes.map((node) => renderNode(inputs, node));
}
