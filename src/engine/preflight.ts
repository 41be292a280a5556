// Everything the engine needs that can be checked before nkd writes anything or asks the user: the
// Pulumi CLI (present and new enough), the passphrase of a shared backend, and the provider's resource
// plugins. Each failure is one line naming what is missing and how to get it (exit 5; 2 for a missing
// shared-backend passphrase, which is the user's to give).
import { isSharedBackend, sharedPassphrase } from './passphrase.js';
import { checkPulumiVersion, findPulumiCli, type PulumiCli } from './pulumi-cli.js';
import { stackPaths } from './stack.js';

export { ensurePlugins, PLUGIN_DIR_ENV, type PluginRef } from './plugins.js';

export interface EngineCliOptions {
  /** --pulumi-root (else NKD_PULUMI_ROOT, PATH, ~/.pulumi/bin). */
  pulumiRoot: string | undefined;
  /** --backend / NKD_BACKEND_URL: undefined means nkd's own local backend. */
  backendUrl: string | undefined;
  /** The cluster's state directory, when known: a passphrase generated there earlier is pointed at. */
  clusterDir?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** The CLI to drive, once it is known to run and be new enough, and the backend's passphrase is there. */
export async function preflightEngine(options: EngineCliOptions): Promise<PulumiCli> {
  const env = options.env ?? process.env;
  const cli = findPulumiCli(options.pulumiRoot, env);
  await checkPulumiVersion(cli);
  if (isSharedBackend(options.backendUrl)) {
    const engineDir = options.clusterDir && stackPaths(options.clusterDir, undefined).engineDir;
    sharedPassphrase(env, engineDir);
  }
  return cli;
}
