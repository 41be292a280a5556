// The real provisioning engine: the provider's Pulumi program run through the Automation API.
import { existsSync } from 'node:fs';
import type { PulumiCli } from './pulumi-cli.js';
import { destroyStack, previewStack, stackPaths, upStack } from './stack.js';
import type { ProvisioningEngine } from './types.js';

export function pulumiEngine(cli: PulumiCli, backendUrl: string | undefined): ProvisioningEngine {
  return {
    async up(request) {
      const program = await request.provider.loadProgram();
      return upStack({
        cluster: request.cluster,
        clusterDir: request.clusterDir,
        cli,
        backendUrl,
        program: () => program.run(request.input),
        onProgress: request.onProgress,
        signal: request.signal,
        adoptsInterruptedCreates: request.provider.adoptsInterruptedCreates,
        releaseProtection: request.releaseProtection ?? false,
      });
    },
    async pendingChanges(request) {
      const program = await request.provider.loadProgram();
      return previewStack({
        cluster: request.cluster,
        clusterDir: request.clusterDir,
        cli,
        backendUrl,
        program: () => program.run(request.input),
        onProgress: request.onProgress,
        signal: request.signal,
      });
    },
    destroy(request) {
      return destroyStack({
        cluster: request.cluster,
        clusterDir: request.clusterDir,
        cli,
        backendUrl,
        program: async () => ({}),
        onProgress: request.onProgress,
        signal: request.signal,
      });
    },
    hasState(clusterDir) {
      // A team backend may hold the stack even without a local workspace: ask the engine then.
      return backendUrl !== undefined || existsSync(stackPaths(clusterDir, undefined).engineDir);
    },
  };
}
