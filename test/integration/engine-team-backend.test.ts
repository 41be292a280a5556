// A team sharing one Pulumi backend, with the real Pulumi CLI (issue 11, defect 9). Two operators, each
// with a state directory and a PULUMI_HOME of their own, work on one shared file:// backend (standing in
// for s3:// and the like). The passphrase comes from the team's environment (Pulumi's own
// PULUMI_CONFIG_PASSPHRASE_FILE here), so the second operator can preview, refresh, update and destroy
// what the first created; a wrong passphrase is refused with the engine's reason (exit 4), and no
// passphrase at all is refused before any engine work (exit 2). The stack holds one dynamic resource
// (no machine) and a secret output, so every step has to decrypt the state.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, sandbox } from '../helpers/cli.js';
import { destroyStack, previewStack, upStack, type StackOptions } from '../../src/engine/stack.js';
import { ExitCode, NkdError } from '../../src/errors.js';
import { realEngineWorld, type RealEngineWorld } from '../helpers/real-engine.js';
import { pulumiRoot, skipReason } from '../helpers/tools.js';

const ROOT = pulumiRoot();
const world: RealEngineWorld | undefined = ROOT ? realEngineWorld(ROOT) : undefined;
afterAll(() => {
  world?.cleanup();
  removeTempDirs();
});

class TeamResource extends pulumi.dynamic.Resource {}

/** One machine-less "cluster": a dynamic resource and a secret output. */
async function program(): Promise<Record<string, unknown>> {
  const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs) {
      return { id: `net-${inputs.size}`, outs: inputs };
    },
  };
  new TeamResource(provider, 'network', { size: 24 }, {});
  return { token: pulumi.secret('join-token-value') };
}

interface Operator {
  clusterDir: string;
  pulumiHome: string;
}

function operator(name: string): Operator {
  const pulumiHome = join(world!.root, `${name}-pulumi-home`);
  mkdirSync(pulumiHome);
  return { clusterDir: world!.clusterDir('team', join(world!.root, `${name}-state`)), pulumiHome };
}

/** Acts as `who`: their PULUMI_HOME (the engine code reads process.env) and the shared backend. */
function as(who: Operator, backendUrl: string, lines: string[] = []): StackOptions {
  process.env.PULUMI_HOME = who.pulumiHome;
  return {
    cluster: 'team',
    clusterDir: who.clusterDir,
    cli: world!.cli,
    backendUrl,
    program,
    onProgress: (l) => lines.push(l),
  };
}

async function rejection(promise: Promise<unknown>): Promise<NkdError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NkdError);
  return err as NkdError;
}

describe.runIf(world)(
  world ? `a shared backend with the real Pulumi CLI (${ROOT})` : skipReason('NKD_PULUMI_ROOT'),
  { timeout: 180_000 },
  () => {
    afterEach(() => {
      delete process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
      delete process.env.NKD_PASSPHRASE;
    });

    it('a second operator previews, refreshes, updates and destroys what the first created', async () => {
      const backend = `file://${join(world!.root, 'shared-backend')}`;
      mkdirSync(backend.slice('file://'.length));
      const teamFile = join(world!.root, 'team.passphrase');
      writeFileSync(teamFile, 'the team passphrase\n', { mode: 0o600 });
      process.env.PULUMI_CONFIG_PASSPHRASE_FILE = teamFile;
      const alice = operator('alice');
      const bob = operator('bob');

      expect(await upStack(as(alice, backend))).toEqual({ token: 'join-token-value' });
      // Bob: another state dir, another PULUMI_HOME, the same backend and passphrase.
      expect(await previewStack(as(bob, backend))).toBe(0);
      expect(await upStack(as(bob, backend))).toEqual({ token: 'join-token-value' });

      // A wrong passphrase: the engine's reason, exit 4, the passphrase never repeated.
      process.env.NKD_PASSPHRASE = 'not the team passphrase';
      const wrong = await rejection(upStack(as(bob, backend)));
      expect(wrong.exitCode).toBe(ExitCode.State);
      expect(wrong.message).toMatch(
        /^the passphrase does not decrypt the cluster's Pulumi stack \(provisioning: .*incorrect passphrase\)/,
      );
      expect(wrong.message).not.toMatch(/not the team passphrase|PULUMI_CONFIG_PASSPHRASE/);
      delete process.env.NKD_PASSPHRASE;

      const lines: string[] = [];
      await destroyStack(as(bob, backend, lines));
      expect(lines).toContain('delete pulumi-nodejs:dynamic:Resource network');
      // Alice sees the result: the whole stack would be created again.
      expect(await previewStack(as(alice, backend))).toBe(2);
    });

    it("`nkd destroy --backend` by an operator without the cluster's local state destroys it; without the passphrase it refuses first (exit 2)", async () => {
      const backend = `file://${join(world!.root, 'shared-backend-2')}`;
      mkdirSync(backend.slice('file://'.length));
      const teamFile = join(world!.root, 'team2.passphrase');
      writeFileSync(teamFile, 'another team passphrase\n', { mode: 0o600 });
      process.env.PULUMI_CONFIG_PASSPHRASE_FILE = teamFile;
      await upStack(as(operator('carol'), backend));

      const dave = sandbox(); // no state at all for this cluster
      const env = {
        NKD_PULUMI_ROOT: ROOT!,
        PULUMI_HOME: join(dave.root, 'pulumi-home'),
        PULUMI_SKIP_UPDATE_CHECK: 'true',
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined, // this test process has it: Dave does not
      };
      const args = ['destroy', 'team', '--yes', '--state-dir', dave.state, '--backend', backend];
      const refused = await dave.run(args, { env });
      expect(refused.exitCode, refused.stderr).toBe(ExitCode.Usage);
      expect(refused.stderr).toMatch(/shared Pulumi backend .* needs the passphrase .*NKD_PASSPHRASE_FILE/);

      const r = await dave.run(args, { env: { ...env, NKD_PASSPHRASE_FILE: teamFile }, timeout: 120_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Cluster team destroyed/);
      expect(await previewStack(as(operator('erin'), backend))).toBe(2);
    });
  },
);
