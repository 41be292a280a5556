// The deploy's checkpoints: which phases finished, with a digest of the inputs they acted on. A re-run
// skips a finished phase only while its inputs are unchanged (and the phase's own check still passes);
// the first phase that must run again invalidates every later one, so the state never claims work that
// came after something redone. Kept in the cluster's state as deploy-state.json (0600).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isJsonObject, isStringRecord, readStateJsonSync } from '../state/files.js';
import { writePrivateFile } from '../state/paths.js';

export const DEPLOY_PHASES = [
  'pre-deploy',
  'drain',
  'join-token',
  'provision',
  'ignition',
  'wait-api',
  'network',
  'wait-nodes',
  'housekeeper',
  'post-deploy',
] as const;
export type DeployPhase = (typeof DEPLOY_PHASES)[number];

export interface PhaseRecord {
  digest: string;
  finishedAt: string;
}

export interface DeployState {
  version: 1;
  phases: Partial<Record<DeployPhase, PhaseRecord>>;
  /** Node name → when it fetched its Ignition config (pointer delivery), kept across runs. */
  ignitionFetched: Record<string, string>;
  /**
   * When the API server first answered, kept across runs: until then no node can have joined, so
   * removing nodes needs no drain (a cluster whose first boot failed can still be scaled down).
   */
  apiAnsweredAt?: string;
}

export function deployStatePath(clusterDir: string): string {
  return join(clusterDir, 'deploy-state.json');
}

export function emptyDeployState(): DeployState {
  return { version: 1, phases: {}, ignitionFetched: {} };
}

export function readDeployState(clusterDir: string): DeployState {
  const file = deployStatePath(clusterDir);
  if (!existsSync(file)) return emptyDeployState();
  const parsed = readStateJsonSync(file, "the deploy's checkpoints", isStoredDeployState);
  return {
    version: 1,
    phases: parsed.phases ?? {},
    ignitionFetched: parsed.ignitionFetched ?? {},
    // States written before this field existed: a finished wait-api says the API answered then.
    ...((parsed.apiAnsweredAt ?? parsed.phases?.['wait-api']?.finishedAt) !== undefined && {
      apiAnsweredAt: parsed.apiAnsweredAt ?? parsed.phases?.['wait-api']?.finishedAt,
    }),
  };
}

function isStoredDeployState(v: unknown): v is Partial<DeployState> {
  return (
    isJsonObject(v) &&
    (v.phases === undefined ||
      (isJsonObject(v.phases) &&
        Object.values(v.phases).every((p) => isJsonObject(p) && typeof p.digest === 'string'))) &&
    (v.ignitionFetched === undefined || isStringRecord(v.ignitionFetched)) &&
    (v.apiAnsweredAt === undefined || typeof v.apiAnsweredAt === 'string')
  );
}

export function writeDeployState(clusterDir: string, state: DeployState): void {
  writePrivateFile(deployStatePath(clusterDir), `${JSON.stringify(state, null, 2)}\n`);
}

/** Forgets `phase` and every phase after it (they depended on it). */
export function invalidateFrom(state: DeployState, phase: DeployPhase): void {
  for (const name of DEPLOY_PHASES.slice(DEPLOY_PHASES.indexOf(phase))) delete state.phases[name];
}

export function isDone(state: DeployState, phase: DeployPhase, digest: string): boolean {
  return state.phases[phase]?.digest === digest;
}

/** A stable digest of JSON-able inputs (key order as given; callers pass values built the same way). */
export function digestOf(...parts: unknown[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(typeof part === 'string' ? part : JSON.stringify(part)).update('\0');
  return hash.digest('hex').slice(0, 32);
}
