// What `npm run e2e -- --keep` prints at the end: how to reach the cluster it left running, and remove it.
import { join } from 'node:path';
import { REPO, type E2eWorld } from './world.js';

/** How to reach what --keep left: the namespace, the cluster through kubectl and SSH, the logs. */
export function keptHints(w: E2eWorld, cluster: string | undefined, user: string): string[] {
  const inNs = `nsenter --net=${w.daemon.netnsPath} --`;
  return [
    `kept: work directory ${w.work}; network namespace ${w.daemon.netnsPath} (libvirtd ${w.daemon.uri} in it)`,
    ...(cluster
      ? [
          `kept: cluster ${cluster}: ${inNs} ${join(w.tools.kubeBin, 'kubectl')} --kubeconfig ${w.adminKubeconfig} get nodes -o wide`,
          `kept: a node: ${inNs} ssh -i ${join(w.work, 'id_ed25519')} ${user}@<node address>`,
          `kept: remove the cluster: ${inNs} env HOME=${w.home} NKD_STATE_DIR=${w.stateDir} ` +
            `PULUMI_HOME=${join(w.work, 'pulumi-home')} NKD_PULUMI_ROOT=${w.tools.pulumiRoot} ` +
            `${process.execPath} ${join(REPO, 'bin', 'run.js')} destroy ${cluster} --yes`,
        ]
      : []),
    'kept: then the namespace and the work directory, as docs/e2e.md says ("What --keep leaves")',
  ];
}
