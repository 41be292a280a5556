// Per-runtime node configuration: the files that make each container runtime serve the kubelet with
// systemd cgroups and kubeadm's pause image, and the units that must run.
import type { Runtime } from '../config/schema.js';
import type { ClusterPlan } from '../plan/types.js';
import { NodeAssets } from './ignition.js';
import { CONTAINERD_CERTS_DIR, insecureHosts, registryFiles } from './registries.js';
import { renderTemplate, type TemplateSet } from './templates.js';

export interface RuntimeProfile {
  /** The unit the kubelet and kubeadm must wait for. */
  service: string;
  apply(assets: NodeAssets, plan: ClusterPlan, templates: TemplateSet): void;
}

/** iSulad's daemon.json; typed so a misspelt key is a compile error rather than a silent no-op. */
interface IsuladDaemonConfig {
  group: string;
  'default-runtime': string;
  'systemd-cgroup': boolean;
  'pod-sandbox-image': string;
  'network-plugin': 'cni';
  'cni-bin-dir': string;
  'cni-conf-dir': string;
  hosts: string[];
  'native.umask': 'secure';
  /** The kubelet speaks only CRI v1 since 1.26; iSulad serves it only when asked to. */
  'enable-cri-v1': boolean;
  'insecure-registries'?: string[];
}

interface DockerDaemonConfig {
  'exec-opts': string[];
  'log-driver': string;
  'log-opts': Record<string, string>;
  'insecure-registries'?: string[];
}

const json = (value: object): string => `${JSON.stringify(value, null, 2)}\n`;

// The config schema admits only image references; this guards a plan that did not come through it,
// since the reference is also spliced into a systemd ExecStart line.
function pauseImageOf(plan: ClusterPlan): string {
  const image = plan.kubernetes.pauseImage;
  if (!/^[a-z0-9][a-z0-9._:/@-]*$/.test(image))
    throw new Error(`render: "${image}" is not an image reference`);
  return image;
}

/** The registry files of `plan` for this runtime, written to the node. */
function writeRegistryFiles(assets: NodeAssets, plan: ClusterPlan): void {
  for (const file of registryFiles(plan.runtime.name, plan.registries)) assets.file(file.path, file.contents);
}

/** daemon.json's insecure-registries, left out when there are none (the daemons' default). */
function insecureRegistries(plan: ClusterPlan): { 'insecure-registries'?: string[] } {
  const hosts = insecureHosts(plan.registries);
  return hosts.length > 0 ? { 'insecure-registries': hosts } : {};
}

export const RUNTIMES: Record<Runtime, RuntimeProfile> = {
  containerd: {
    service: 'containerd.service',
    apply(assets, plan, templates) {
      assets.file(
        '/etc/containerd/config.toml',
        renderTemplate(templates, 'runtime/containerd/etc/containerd/config.toml', {
          // Quoted by the template: validated image references hold no character TOML would need escaped.
          pauseImage: pauseImageOf(plan),
          certsDir: CONTAINERD_CERTS_DIR,
        }),
      );
      writeRegistryFiles(assets, plan);
      assets.enable('containerd.service');
    },
  },
  crio: {
    service: 'crio.service',
    apply(assets, plan, templates) {
      assets.file(
        '/etc/crio/crio.conf.d/90-nkd.conf',
        renderTemplate(templates, 'runtime/crio/etc/crio/crio.conf.d/90-nkd.conf', {
          // Quoted by the template: validated image references hold no character TOML would need escaped.
          pauseImage: pauseImageOf(plan),
        }),
      );
      writeRegistryFiles(assets, plan);
      assets.enable('crio.service');
    },
  },
  isulad: {
    service: 'isulad.service',
    apply(assets, plan) {
      const config: IsuladDaemonConfig = {
        group: 'isula',
        'default-runtime': 'runc',
        'systemd-cgroup': true,
        'pod-sandbox-image': pauseImageOf(plan),
        'network-plugin': 'cni',
        'cni-bin-dir': '/opt/cni/bin',
        'cni-conf-dir': '/etc/cni/net.d',
        hosts: [plan.runtime.criSocket],
        'native.umask': 'secure',
        'enable-cri-v1': true,
        ...insecureRegistries(plan),
      };
      assets.file('/etc/isulad/daemon.json', json(config));
      writeRegistryFiles(assets, plan);
      assets.enable('isulad.service');
    },
  },
  docker: {
    service: 'cri-docker.service',
    apply(assets, plan, templates) {
      const config: DockerDaemonConfig = {
        'exec-opts': ['native.cgroupdriver=systemd'],
        'log-driver': 'json-file',
        'log-opts': { 'max-size': '100m' },
        ...insecureRegistries(plan),
      };
      assets.file('/etc/docker/daemon.json', json(config));
      writeRegistryFiles(assets, plan);
      assets.enable('docker.service');
      assets.enable('cri-docker.socket');
      assets.enable('cri-docker.service', {
        name: '20-nkd.conf',
        contents: renderTemplate(
          templates,
          'runtime/docker/etc/systemd/system/cri-docker.service.d/20-nkd.conf',
          { pauseImage: pauseImageOf(plan) },
        ),
      });
    },
  },
};
