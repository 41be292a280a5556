// Pure: the keepalived VRRP instance that holds the API VIP on every control plane, as a typed object,
// and the node files that run it (templates/vip/). Control plane 1 has the highest priority, so it
// holds the VIP whenever its API server is ready; the others take over in index order.
import { API_SERVER_PORT } from '../plan/plan.js';
import type { ApiVip, ClusterPlan, NodePlan } from '../plan/types.js';
import { MODE_EXECUTABLE, MODE_SECRET, type NodeAssets } from './ignition.js';
import { renderTemplate, type TemplateSet } from './templates.js';

/** Where the files live on a node; the keepalived test runs the same files from its own paths. */
export interface KeepalivedPaths {
  keepalived: string;
  configFile: string;
  checkScript: string;
  /** Holds the interface name found at start and keepalived's pid files. */
  runDir: string;
  caFile: string;
}

export const NODE_KEEPALIVED_PATHS: KeepalivedPaths = {
  keepalived: '/usr/sbin/keepalived',
  configFile: '/etc/keepalived/keepalived.conf',
  checkScript: '/usr/local/bin/nkd-apiserver-check',
  runDir: '/run/nkd-keepalived',
  caFile: '/etc/nkd/pki/ca.crt',
};

export interface VrrpInstance {
  nodeName: string;
  vip: string;
  virtualRouterId: number;
  /** 1-254; control plane n gets PRIORITY_TOP - n. */
  priority: number;
  sourceAddress: string;
  /** The other control planes' addresses: VRRP adverts go to each by unicast. */
  peers: string[];
  password: string;
}

/** Below 255, which VRRP reserves for the owner of the address (none here). */
const PRIORITY_TOP = 200;

export function vrrpInstance(plan: ClusterPlan, vip: ApiVip, node: NodePlan, password: string): VrrpInstance {
  if (!/^[A-Za-z0-9]{8}$/.test(password))
    throw new Error('render: the cluster PKI has no VRRP password (deploy generates it)');
  const controlPlanes = plan.nodes.filter((n) => n.role === 'control-plane');
  return {
    nodeName: node.name,
    vip: vip.address,
    virtualRouterId: vip.virtualRouterId,
    priority: PRIORITY_TOP - node.index,
    sourceAddress: node.address,
    peers: controlPlanes.filter((n) => n.name !== node.name).map((n) => n.address),
    password,
  };
}

export interface KeepalivedFiles {
  config: string;
  checkScript: string;
  launcher: string;
  unit: string;
}

export function keepalivedFiles(
  templates: TemplateSet,
  instance: VrrpInstance,
  paths: KeepalivedPaths = NODE_KEEPALIVED_PATHS,
): KeepalivedFiles {
  const { nodeName, vip, sourceAddress } = instance;
  return {
    config: renderTemplate(templates, 'vip/etc/keepalived/keepalived.conf', {
      ...instance,
      runDir: paths.runDir,
      checkScript: paths.checkScript,
    }),
    checkScript: renderTemplate(templates, 'vip/usr/local/bin/nkd-apiserver-check', {
      nodeName,
      caFile: paths.caFile,
      address: sourceAddress,
      port: API_SERVER_PORT,
    }),
    launcher: renderTemplate(templates, 'vip/usr/local/bin/nkd-keepalived', {
      nodeName,
      sourceAddress,
      keepalived: paths.keepalived,
      configFile: paths.configFile,
      runDir: paths.runDir,
    }),
    unit: renderTemplate(templates, 'vip/etc/systemd/system/nkd-keepalived.service', { vip }),
  };
}

/** Control planes of a cluster whose API is a VIP get keepalived; other nodes nothing. */
export function addKeepalived(
  assets: NodeAssets,
  inputs: { plan: ClusterPlan; templates: TemplateSet; vrrpPassword: string },
  node: NodePlan,
): void {
  const vip = inputs.plan.kubernetes.apiVip;
  if (vip === undefined || node.role !== 'control-plane') return;
  const files = keepalivedFiles(inputs.templates, vrrpInstance(inputs.plan, vip, node, inputs.vrrpPassword));
  const paths = NODE_KEEPALIVED_PATHS;
  // The config holds the VRRP password.
  assets.file(paths.configFile, files.config, MODE_SECRET);
  assets.file(paths.checkScript, files.checkScript, MODE_EXECUTABLE);
  assets.file('/usr/local/bin/nkd-keepalived', files.launcher, MODE_EXECUTABLE);
  assets.unit('nkd-keepalived.service', files.unit);
}
