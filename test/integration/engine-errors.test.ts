// Engine failures as users see them, from the real Pulumi CLI (issue 11, defect 2): the engine's own
// diagnostic (resource, operation, provider message) in one line with the right exit code, instead of
// "provisioning failed: code: 255". Tiny inline programs with dynamic resources stand in for a
// provider: no libvirt or cloud is needed to make the real engine fail in each of these ways. The tests
// run one after another: inline programs keep Pulumi's runtime state in globals of this process. The tests
// run one after another: inline programs keep Pulumi's runtime state in globals of this process.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, describe, expect, it } from 'vitest';
import { upStack, type StackOptions } from '../../src/engine/stack.js';
import { ExitCode, NkdError } from '../../src/errors.js';
import { realEngineWorld, type RealEngineWorld } from '../helpers/real-engine.js';
import { pulumiRoot, skipReason } from '../helpers/tools.js';

const ROOT = pulumiRoot();
const world: RealEngineWorld | undefined = ROOT ? realEngineWorld(ROOT) : undefined;
afterAll(() => world?.cleanup());

/** pulumi.dynamic.Resource is abstract; providers' resources are subclasses too. */
class TestResource extends pulumi.dynamic.Resource {}
class TestCustomResource extends pulumi.CustomResource {}

function options(cluster: string, program: StackOptions['program'], clusterDir?: string): StackOptions {
  return {
    cluster,
    clusterDir: clusterDir ?? world!.clusterDir(cluster),
    cli: world!.cli,
    backendUrl: undefined,
    onProgress: () => {},
    program,
  };
}

async function failure(promise: Promise<unknown>): Promise<NkdError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NkdError);
  return err as NkdError;
}

/** A dynamic resource whose create fails with `message`, as a provider's API error would. */
function failingProgram(message: string) {
  return async () => {
    const provider: pulumi.dynamic.ResourceProvider = {
      async create() {
        throw new Error(message);
      },
    };
    new TestResource(provider, 'worker-1', {}, {});
    return {};
  };
}

/** A protected resource whose `v` input forces a replacement, like a control-plane node's disk. */
function protectedProgram(v: string) {
  return async () => {
    const provider: pulumi.dynamic.ResourceProvider = {
      async create(inputs) {
        return { id: 'machine-1', outs: inputs };
      },
      async diff(_id, olds, news) {
        const changed = olds.v !== news.v;
        return { changes: changed, replaces: changed ? ['v'] : [] };
      },
    };
    new TestResource(provider, 'cp-1', { v }, { protect: true });
    return {};
  };
}

describe.runIf(world)(
  world ? `engine failures from the real Pulumi CLI (${ROOT})` : skipReason('NKD_PULUMI_ROOT'),
  { timeout: 120_000 },
  () => {
    it('name the resource, the operation and the provider message in one line (exit 6)', async () => {
      const err = await failure(
        upStack(options('fails', failingProgram('quota exceeded for instances: limit 10'))),
      );
      expect(err.exitCode).toBe(ExitCode.Provisioning);
      expect(err.message).toBe(
        'provisioning failed: create pulumi-nodejs:dynamic:Resource worker-1: quota exceeded for instances: limit 10',
      );
      expect(err.message).not.toMatch(/code: |\n/);
    });

    it('never repeat the passphrase, a private key or an Ignition config, and stay short', async () => {
      const clusterDir = world!.clusterDir('leaky');
      const passphraseFile = join(clusterDir, 'engine', 'passphrase');
      // The provider echoes secrets back in its error, as a careless API might.
      const program = async () => {
        const secret = readFileSync(passphraseFile, 'utf8').trim();
        const echo = `${secret} {"ignition":{"version":"3.4.0"},"storage":{"files":[]}}`;
        const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBq\n-----END EC PRIVATE KEY-----';
        return failingProgram(`bad request ${'x'.repeat(600)} ${key} ${echo}`)();
      };
      const err = await failure(upStack(options('leaky', program, clusterDir)));
      expect(existsSync(passphraseFile)).toBe(true);
      const passphrase = readFileSync(passphraseFile, 'utf8').trim();
      expect(err.exitCode).toBe(ExitCode.Provisioning);
      expect(err.message).toMatch(
        /^provisioning failed: create pulumi-nodejs:dynamic:Resource worker-1: bad request/,
      );
      expect(err.message.length).toBeLessThanOrEqual(500);
      expect(err.message).not.toContain(passphrase);
      expect(err.message).not.toMatch(/PRIVATE KEY|MHcCAQ|"ignition"/);
    });

    it('say that a protected machine would be replaced (exit 6), naming it', async () => {
      const clusterDir = world!.clusterDir('guarded');
      await upStack(options('guarded', protectedProgram('disk-a'), clusterDir));
      const err = await failure(upStack(options('guarded', protectedProgram('disk-b'), clusterDir)));
      expect(err.exitCode).toBe(ExitCode.Provisioning);
      expect(err.message).toMatch(
        /^provisioning failed: the change would replace pulumi-nodejs:dynamic:Resource cp-1, which is protected/,
      );
      expect(err.message).not.toContain('\n');
    });

    it('name a resource plugin the engine cannot get, with its version (exit 5)', async () => {
      const program = async () => {
        new TestCustomResource('nkdtest:index:Thing', 'thing', {}, { version: '9.9.9' });
        return {};
      };
      const err = await failure(upStack(options('plugin', program)));
      expect(err.exitCode).toBe(ExitCode.Prerequisite);
      expect(err.message).toMatch(/resource plugin nkdtest 9\.9\.9 is missing.*--plugin-dir/);
    });

    it('report a stack locked by a running update, with its holder (exit 4)', async () => {
      const clusterDir = world!.clusterDir('locked');
      // The slow create tells the test it is running through a loopback request (fetch is a global
      // in the provider host; a serialized provider cannot capture this module's imports).
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const server = createServer((_req, res) => {
        started();
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const signal = `http://127.0.0.1:${(server.address() as AddressInfo).port}/started`;
      const slowProgram = async () => {
        const provider: pulumi.dynamic.ResourceProvider = {
          async create(inputs) {
            await fetch(inputs.signal);
            await new Promise((resolve) => setTimeout(resolve, 15_000));
            return { id: 'slow', outs: inputs };
          },
        };
        new TestResource(provider, 'slow', { signal }, {});
        return {};
      };
      const first = upStack(options('locked', slowProgram, clusterDir));
      await Promise.race([running, first]);
      const err = await failure(upStack(options('locked', async () => ({}), clusterDir)));
      expect(err.exitCode).toBe(ExitCode.State);
      expect(err.message).toMatch(/stack is locked by another update \(.*\(pid \d+\) at .*\)/);
      await first;
      server.close();
    });

    it('say that the passphrase does not open the stack (exit 4), not which variable Pulumi reads', async () => {
      const clusterDir = world!.clusterDir('rekeyed');
      await upStack(options('rekeyed', async () => ({ kept: pulumi.secret('value') }), clusterDir));
      writeFileSync(join(clusterDir, 'engine', 'passphrase'), 'not-the-passphrase\n');
      const err = await failure(upStack(options('rekeyed', async () => ({}), clusterDir)));
      expect(err.exitCode).toBe(ExitCode.State);
      expect(err.message).toMatch(/passphrase does not decrypt.*NKD_PASSPHRASE or NKD_PASSPHRASE_FILE/);
      expect(err.message).not.toContain('PULUMI_CONFIG_PASSPHRASE');
    });
  },
);
