// The provisioning engine as the deploy workflow sees it: bring a cluster's infrastructure to the
// desired state, or remove all of it. Pulumi (engine/stack.ts) is the real one; tests put a double here,
// so the whole workflow runs without a Pulumi CLI while asserting exactly what the engine was asked.
import type { ProgramInput, ProviderDescriptor } from '../../providers/types.js';

export interface EngineUpRequest {
  cluster: string;
  clusterDir: string;
  provider: ProviderDescriptor<unknown>;
  input: ProgramInput<unknown>;
  onProgress: (line: string) => void;
  signal: AbortSignal;
  /** The change removes protected machines (drained control-plane nodes): lift protection first. */
  releaseProtection?: boolean;
}

export interface EngineDestroyRequest {
  cluster: string;
  clusterDir: string;
  onProgress: (line: string) => void;
  signal: AbortSignal;
}

export interface ProvisioningEngine {
  /** Creates or converges every resource; resolves with the provider's stack outputs. */
  up(request: EngineUpRequest): Promise<Record<string, unknown>>;
  /**
   * How many resources `up` would change, after reading back what exists (drift counts): 0 means the
   * infrastructure matches. Changes nothing.
   */
  pendingChanges(request: EngineUpRequest): Promise<number>;
  /** Removes every resource the cluster's stack holds; a no-op for a stack that holds none. */
  destroy(request: EngineDestroyRequest): Promise<void>;
  /** Whether this cluster has engine state at all (a dry-run-only cluster has none). */
  hasState(clusterDir: string): boolean;
}
