// Runs the real deploy workflow in-process with the engine double and the Kubernetes API fake, and
// records what it reported. Shared by the workflow integration tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loggingReporter } from '../../src/cli/reporters/index.js';
import { jsonReporter } from '../../src/cli/reporters/json.js';
import { lineReporter } from '../../src/cli/reporters/lines.js';
import { NkdError } from '../../src/errors.js';
import { DebugLog } from '../../src/lib/log.js';
import { DEFAULT_TIMEOUTS, type DeployOptions } from '../../src/workflows/deploy-context.js';
import { runDeploy } from '../../src/workflows/deploy.js';
import type { DeployEvent, Reporter } from '../../src/workflows/events.js';
import { planFromConfig } from '../../src/workflows/prepare.js';
import { configObject, type ConfigOverrides } from './configs.js';
import {
  bootNodesOneByOne,
  engineDouble,
  type EngineDouble,
  type EngineDoubleOptions,
} from './engine-double.js';
import { bootNodes, plannedNodes, type RealCluster } from './real-api.js';
import { cpSync } from 'node:fs';
import { stringify } from 'yaml';

/** The planned API endpoint is a name: the fake (on 127.0.0.1) presents a certificate for it. */
export const ENDPOINT_NAME = 'api.demo.test';
export const SERVING_NAMES = [ENDPOINT_NAME, '127.0.0.1'];

export interface Harness {
  cleanups: (() => unknown)[];
  workspace(spec?: Record<string, unknown>, overrides?: ConfigOverrides): Workspace;
  engine(options?: Parameters<typeof engineDouble>[0]): EngineDouble;
  /**
   * An engine double whose machines are kwok nodes of `cluster`: `up` reports the cluster's endpoint
   * (or `endpoint`) and registers the planned nodes one by one (joined NotReady, then Ready).
   */
  realEngine(cluster: RealCluster, options?: RealEngineOptions): EngineDouble;
  /** Waits for every node boot realEngine started, failing on the first that failed. */
  booted(): Promise<void>;
}

export interface RealEngineOptions extends Omit<EngineDoubleOptions, 'real' | 'api' | 'onApi'> {
  endpoint?: string;
}

/** Copies a state's cluster PKI into the workspace, so its deploy trusts (and is trusted by) that server. */
export function usePki(ws: Workspace, clusterDir: string, name = 'demo'): void {
  cpSync(join(clusterDir, 'pki'), join(ws.stateDir, 'clusters', name, 'pki'), { recursive: true });
}

export interface Workspace {
  dir: string;
  config: string;
  stateDir: string;
}

export function harness(): Harness {
  const cleanups: (() => unknown)[] = [];
  const boots: Promise<void>[] = [];
  return {
    cleanups,
    workspace(spec = {}, overrides = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'nkd-deploy-wf-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const config = join(dir, 'cluster.yaml');
      const object = configObject({
        controlPlane: { count: 3, cpus: 2, memoryMiB: 4096 },
        workers: { count: 2 },
        kubernetes: { controlPlaneEndpoint: `${ENDPOINT_NAME}:6443` },
        ...overrides,
      }) as { spec: Record<string, unknown> };
      Object.assign(object.spec, spec);
      writeFileSync(config, stringify(object));
      return { dir, config, stateDir: join(dir, 'state') };
    },
    engine(options = {}) {
      const engine = engineDouble({
        api: { servingNames: SERVING_NAMES, readyAfterMs: 150, ...options.api },
        onApi: (api, request) =>
          bootNodesOneByOne(
            api,
            request.input.nodes.map((b) => b.node),
          ),
        ...options,
      });
      cleanups.push(() => engine.stop());
      return engine;
    },
    realEngine(cluster, options = {}) {
      const { endpoint, ...rest } = options;
      return engineDouble({
        ...rest,
        real: {
          endpoint: endpoint ?? cluster.endpoint,
          boot: (request) => {
            const names = new Set(request.input.nodes.map((b) => b.node.name));
            const nodes = plannedNodes(cluster.plan).filter((n) => names.has(n.name));
            boots.push(bootNodes(cluster, nodes));
          },
        },
      });
    },
    async booted() {
      await Promise.all(boots.splice(0));
    },
  };
}

export interface Recorded {
  reporter: Reporter;
  events: DeployEvent[];
  /** What the line and JSON reporters printed. */
  lines: string[];
}

export function recorder(): Recorded {
  const events: DeployEvent[] = [];
  const lines: string[] = [];
  const asLines = lineReporter((t) => lines.push(t));
  const asJson = jsonReporter((t) => lines.push(t));
  return {
    events,
    lines,
    reporter: {
      emit: (e) => {
        events.push(e);
        asLines.emit(e);
        asJson.emit(e);
      },
      suspend: () => {},
      resume: () => {},
      close: () => {},
    },
  };
}

export const FAST = { initialDelayMs: 5, maxDelayMs: 25 };

export interface DeployRun {
  result?: Awaited<ReturnType<typeof runDeploy>>;
  error?: NkdError;
  rec: Recorded;
  log: DebugLog;
}

export async function deploy(
  ws: Workspace,
  engine: EngineDouble,
  overrides: Partial<DeployOptions> = {},
): Promise<DeployRun> {
  const log = new DebugLog();
  const rec = recorder();
  const reporter = loggingReporter(overrides.reporter ?? rec.reporter, log);
  const planned = await planFromConfig(ws.config, log);
  try {
    const result = await runDeploy({
      planned,
      configFile: ws.config,
      stateDir: ws.stateDir,
      nkdVersion: '0.0.0-test',
      engine,
      log,
      signal: new AbortController().signal,
      timeouts: { ...DEFAULT_TIMEOUTS, apiMs: 4000, nodesMs: 8000, addonsMs: 4000, fetchMs: 4000 },
      confirmProvisioning: async () => {},
      waitTuning: FAST,
      ...overrides,
      reporter,
    });
    return { result, rec, log };
  } catch (err) {
    if (!(err instanceof NkdError)) throw err;
    return { error: err, rec, log };
  } finally {
    log.flush();
  }
}

/** A reporter and signal that interrupt the deploy (like Ctrl-C) once `phase` is done. */
export function interruptAfter(phase: string): { signal: AbortSignal; reporter: Reporter; rec: Recorded } {
  const controller = new AbortController();
  const rec = recorder();
  return {
    signal: controller.signal,
    rec,
    reporter: {
      ...rec.reporter,
      emit: (e) => {
        rec.reporter.emit(e);
        if (e.type === 'phase' && e.phase === phase && e.state === 'done') controller.abort();
      },
    },
  };
}
