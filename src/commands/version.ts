import { NkdCommand } from '../cli/base.js';
import {
  DEFAULT_KUBE_VERSION,
  KUBEADM_API_VERSION,
  MAX_MINOR,
  MIN_MINOR,
  supportedMinors,
} from '../config/versions.js';
import { IGNITION_SPEC_VERSION } from '../render/ignition-types.js';

export default class Version extends NkdCommand {
  // Works on no cluster state: no --state-dir to list (and ignore).
  // Typed as the base's so the shared parse types hold; at run time the command has no --state-dir.
  static override baseFlags = {} as typeof NkdCommand.baseFlags;
  static override summary = 'Print the nkd version and what it deploys.';
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json'];
  static override enableJsonFlag = true;

  async run(): Promise<object> {
    await this.parse(Version);
    const info = {
      version: this.config.version,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      // The minors upstream maintains, oldest first; a config without a version gets `default`.
      kubernetes: {
        min: `v1.${MIN_MINOR}`,
        max: `v1.${MAX_MINOR}`,
        supported: supportedMinors(),
        default: DEFAULT_KUBE_VERSION,
      },
      kubeadmApi: KUBEADM_API_VERSION,
      ignitionSpec: IGNITION_SPEC_VERSION,
    };
    if (!this.jsonEnabled()) {
      this.out(`nkd ${info.version} (${info.platform}, node ${info.node})`);
      this.out(
        `Kubernetes ${info.kubernetes.supported.join(', ')} (default ${info.kubernetes.default}), Ignition spec ${info.ignitionSpec}`,
      );
    }
    return info;
  }
}
