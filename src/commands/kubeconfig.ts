import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Flags } from '@oclif/core';
import { clusterNameArg } from '../cli/args.js';
import { parse } from 'yaml';
import { NkdCommand } from '../cli/base.js';
import { ExitCode, NkdError } from '../errors.js';
import { mergeKubeconfig } from '../kubeconfig/merge.js';
import { clusterPaths } from '../state/paths.js';

export default class Kubeconfig extends NkdCommand {
  static override summary = "Print a cluster's admin kubeconfig, or merge it into your kubeconfig.";
  static override description =
    "The kubeconfig carries nkd's admin client certificate (O=system:masters), so treat its output as a secret. --merge adds or refreshes only this cluster's entries (cluster nkd-<name>, user and context nkd-admin@<name>) and keeps everything else; the file stays 0600.";
  static override examples = [
    '<%= config.bin %> kubeconfig demo > demo.kubeconfig',
    '<%= config.bin %> kubeconfig demo --merge',
    '<%= config.bin %> kubeconfig demo --merge --kubeconfig ~/.kube/lab --set-current',
    '<%= config.bin %> kubeconfig demo --json | jq -r .kubeconfig',
  ];
  static override enableJsonFlag = true;
  static override args = { name: clusterNameArg({ required: true }) };
  static override flags = {
    merge: Flags.boolean({ description: 'Merge into the kubeconfig file instead of printing' }),
    kubeconfig: Flags.string({
      description: 'Kubeconfig file to merge into [default: first of $KUBECONFIG, else ~/.kube/config]',
    }),
    'set-current': Flags.boolean({
      description: "With --merge: make this cluster's context the current one",
      dependsOn: ['merge'],
    }),
  };

  async run(): Promise<object> {
    const { args, flags } = await this.parse(Kubeconfig);
    const paths = clusterPaths(this.stateDir(flags), args.name);
    if (!existsSync(paths.adminKubeconfig)) {
      throw new NkdError(
        `no kubeconfig for cluster ${args.name} in ${this.stateDir(flags)} (run nkd deploy first)`,
        ExitCode.State,
      );
    }
    const text = readFileSync(paths.adminKubeconfig, 'utf8');
    if (!flags.merge) {
      if (!this.jsonEnabled()) this.out(text);
      return { cluster: args.name, kubeconfig: text };
    }
    const target = flags.kubeconfig ?? defaultKubeconfigPath();
    refuseDirectory(target, flags.kubeconfig !== undefined);
    const existing = existsSync(target) ? readFileSync(target, 'utf8') : '';
    let result;
    try {
      result = mergeKubeconfig(existing, parse(text), flags['set-current']);
    } catch (err) {
      throw new NkdError(`cannot merge into ${target}: ${(err as Error).message}`, ExitCode.Usage);
    }
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    const temp = `${target}.nkd-${process.pid}.tmp`;
    writeFileSync(temp, result.text, { mode: 0o600 });
    renameSync(temp, target);
    const action = result.replaced.length > 0 ? 'Refreshed' : 'Added';
    const current = result.currentContextChanged ? '; it is now the current context' : '';
    if (!this.jsonEnabled()) this.out(`${action} context nkd-admin@${args.name} in ${target}${current}`);
    return {
      cluster: args.name,
      merged: target,
      context: `nkd-admin@${args.name}`,
      action: action.toLowerCase(),
      currentContext: result.currentContextChanged,
    };
  }
}

function defaultKubeconfigPath(): string {
  const fromEnv = (process.env.KUBECONFIG ?? '').split(delimiter).find((p) => p !== '');
  return fromEnv ?? join(homedir(), '.kube', 'config');
}

/** A directory where the kubeconfig file should be is the command line's (or $KUBECONFIG's) mistake. */
function refuseDirectory(target: string, fromFlag: boolean): void {
  if (!existsSync(target) || !statSync(target).isDirectory()) return;
  const source = fromFlag ? '--kubeconfig' : 'the kubeconfig path';
  throw new NkdError(
    `${source} ${target} is a directory; give the kubeconfig file to merge into (e.g. ${join(target, 'config')})`,
    ExitCode.Usage,
  );
}
