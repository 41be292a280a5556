// A provisioning engine double for workflow tests: instead of Pulumi it "creates" one resource per
// node (recorded, so destroy can be asserted to remove what exists), and "boots" the cluster: either by
// reporting a real API server's endpoint and registering the nodes there (`real`, see real-api.ts), or
// by starting the in-process Kubernetes API fake with the PKI the deploy generated. Every call is
// recorded.
import type { EngineDestroyRequest, EngineUpRequest, ProvisioningEngine } from '../../src/engine/types.js';
import { loadPki } from '../../src/pki/index.js';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeKubeApi, type FakeKubeApi, type FakeKubeApiOptions } from './fake-kube-api.js';

export interface EngineDouble extends ProvisioningEngine {
  upCalls: EngineUpRequest[];
  previewCalls: EngineUpRequest[];
  destroyCalls: EngineDestroyRequest[];
  /** Resources that exist now, by name (one per node). */
  resources: Set<string>;
  /** The fake API the last `up` started. */
  api: FakeKubeApi | undefined;
  stop(): Promise<void>;
}

export interface EngineDoubleOptions {
  /** Options for the fake API started by `up` (the PKI comes from the cluster state). */
  api?: Omit<FakeKubeApiOptions, 'pki'>;
  /** Create only this many resources, then fail like a half-failed `pulumi up`. */
  failAfter?: number;
  /** Awaited inside `up` before it returns (to hold a deploy in the middle of provisioning). */
  hold?: Promise<void>;
  /** Called once the fake API is up, to script the nodes' boot. */
  onApi?: (api: FakeKubeApi, request: EngineUpRequest) => void;
  /**
   * A real API server instead of the fake: `up` reports `endpoint` (host:port) and, on the first up,
   * calls `boot` to register the nodes there.
   */
  real?: { endpoint: string; boot?: (request: EngineUpRequest) => void };
}

export function engineDouble(options: EngineDoubleOptions = {}): EngineDouble {
  const double: EngineDouble = {
    upCalls: [],
    previewCalls: [],
    destroyCalls: [],
    resources: new Set(),
    api: undefined,
    async up(request) {
      double.upCalls.push(request);
      // Like Pulumi's file backend: the stack's state exists from the first operation on.
      mkdirSync(join(request.clusterDir, 'engine'), { recursive: true, mode: 0o700 });
      for (const [i, boot] of request.input.nodes.entries()) {
        if (options.failAfter !== undefined && i >= options.failAfter) {
          throw new Error(`creating machine ${boot.node.name}: quota exceeded (test double)`);
        }
        double.resources.add(boot.node.name);
        request.onProgress(`create machine ${boot.node.name}`);
      }
      if (options.hold) await options.hold;
      if (options.real) {
        if (double.upCalls.length === 1) options.real.boot?.(request);
        return { apiEndpoint: options.real.endpoint, nodes: provisioned(request) };
      }
      if (!double.api) {
        const pki = await loadPki(join(request.clusterDir, 'pki'));
        double.api = await startFakeKubeApi({ pki, ...options.api });
        options.onApi?.(double.api, request);
      }
      return {
        apiEndpoint: `127.0.0.1:${double.api.port}`,
        nodes: provisioned(request),
      };
    },
    async pendingChanges(request) {
      double.previewCalls.push(request);
      return request.input.nodes.filter((boot) => !double.resources.has(boot.node.name)).length;
    },
    async destroy(request) {
      double.destroyCalls.push(request);
      for (const name of [...double.resources]) {
        double.resources.delete(name);
        request.onProgress(`delete machine ${name}`);
      }
    },
    hasState: (clusterDir) => existsSync(join(clusterDir, 'engine')),
    async stop() {
      await double.api?.stop();
    },
  };
  return double;
}

function provisioned(request: EngineUpRequest) {
  return request.input.nodes.map((boot) => ({
    name: boot.node.name,
    role: boot.node.role,
    address: boot.node.address,
    providerId: `double://${boot.node.name}`,
    consoleLog: `/var/log/libvirt/qemu/${boot.node.name}-console.log`,
  }));
}

/**
 * Scripts the nodes' boot on the fake: on each node list the next node joins (NotReady), and a joined
 * node turns Ready on the following list — so waits see them join and turn Ready one by one.
 */
export function bootNodesOneByOne(api: FakeKubeApi, nodes: { name: string; role: string }[]): void {
  const pending = [...nodes];
  api.onRequest = (request) => {
    if (request.method !== 'GET' || request.path !== '/api/v1/nodes') return;
    const notReady = api.nodes.find((n) => !n.ready);
    if (notReady) {
      api.setNodeReady(notReady.name, true);
      return;
    }
    const next = pending.shift();
    if (next) {
      api.addNode({
        name: next.name,
        ready: false,
        roles: next.role === 'control-plane' ? ['control-plane'] : [],
      });
    }
  };
}
