import { NkdCommand } from '../cli/base.js';
import { MAX_MINOR, MIN_MINOR } from '../config/versions.js';
import { IGNITION_SPEC_VERSION } from '../render/ignition-types.js';

export default class Version extends NkdCommand {
  // Works on no cluster state: no --state-dir to list (and ignore).
  // Typed as the base's so the shared parse types hold; at run time the command has no --state-dir.
  static override baseFlags = {
    verbose: NkdCommand.baseFlags.verbose,
  } as typeof NkdCommand.baseFlags;
  static override summary = 'Print the nkd version and what it deploys.';
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json'];
  static override enableJsonFlag = true;

  async run(): Promise<object> {
    await this.parse(Version);
    const info = {
      version: this.config.version,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      kubernetes: { min: `v1.${MIN_MINOR}`, max: `v1.${MAX_MINOR}` },
      kubeadmApi: ['kubeadm.k8s.io/v1beta3 (< v1.31)', 'kubeadm.k8s.io/v1beta4 (>= v1.31)'],
      ignitionSpec: IGNITION_SPEC_VERSION,
    };
    if (!this.jsonEnabled()) {
      this.out(`nkd ${info.version} (${info.platform}, node ${info.node})`);
      this.out(
        `Kubernetes ${info.kubernetes.min} to ${info.kubernetes.max}, Ignition spec ${info.ignitionSpec}`,
      );
    }
    return info;
  }
}
