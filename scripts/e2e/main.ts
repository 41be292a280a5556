// `npm run e2e [-- -f CONFIG] [--keep] [--deadline DURATION]`: deploys a real cluster with nkd on this
// machine, offline, under TCG, and checks it from the outside as a user would (docs/e2e.md). Prints each
// step with its time and ends with `e2e: PASS` or `e2e: FAIL <step>`; exits non-zero on failure.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freeTestCidr } from '../lib/libvirtd.js';
import { parseArgs } from './args.js';
import { armDeadline, defaultDeadline, DIAGNOSIS_AFTER_DEADLINE_MS } from './deadline.js';
import { keptHints } from './kept.js';
import {
  apiReady,
  libvirtObjectsNamed,
  nodeFigures,
  nodes,
  waitDeploymentAvailable,
  waitNodesReady,
  waitPodsOnNodes,
} from './checks.js';
import {
  clusterName,
  defaultConfig,
  fillConfig,
  firstHost,
  readConfig,
  requestedNetwork,
  writeConfig,
} from './config.js';
import { diagnose } from './diagnose.js';
import { deployFigures, endedChildrenCpuSeconds, ownTimeFigure, type Figures } from './figures.js';
import { interruption, StepFailed, stepRunner } from './steps.js';
import { imagesEnvForUpgrade, upgradeStep } from './upgrade.js';
import { deployWorkload, pushWorkloadImage, resolveThroughWorkload, WORKLOAD_NAMESPACE } from './workload.js';
import { findTools, REGISTRY_PORT, REPO, startWorld, type E2eWorld, type RunResult } from './world.js';

const MIN = 60_000;
// TCG on a shared machine: kubeadm init alone may take 10+ minutes.
const DEPLOY_FLAGS = ['--api-timeout', '45m', '--nodes-timeout', '45m', '--addons-timeout', '30m'];

function mustSucceed(what: string, r: RunResult): string {
  if (r.exitCode !== 0)
    throw new Error(`${what} exited ${r.exitCode}:\n${r.out.trim().split('\n').slice(-30).join('\n')}`);
  return r.out;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const steps = stepRunner();
  let world: E2eWorld | undefined;
  let cluster: string | undefined;
  let user = 'nest';
  let key = '';
  let failed: string | undefined;
  // Ctrl-C or SIGTERM: the commands under way end (nkd on SIGINT leaves a resumable state), the
  // step fails, and the finally below removes the guests, libvirtd, the registry and the namespace. A
  // second signal does not wait for that.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruption.signal) {
      console.log(`e2e: ${signal} again: exiting without cleaning up (work directory ${world?.work ?? '-'})`);
      process.exit(130);
    }
    interruption.signal = signal;
    console.log(`e2e: ${signal}: stopping the running commands, then cleaning up`);
    world?.stopCommands();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Counted from the start; without --deadline it is armed once the config says how many nodes there are.
  const stop = () => world?.stopCommands();
  let deadline = args.deadline ? armDeadline(args.deadline, 0, stop) : undefined;
  try {
    const tools = await steps.step('find the tools', async () => findTools());
    const upgrade = tools.upgrade;
    if (!upgrade)
      throw new StepFailed(
        'find the tools',
        new Error(
          'the upgrade image is missing: run `npm run tools -- kube-prev testnode-upgrade` (as root)',
        ),
      );
    world = await steps.step('network namespace, libvirtd and the mirror registry', () => startWorld(tools));
    const w = world;
    steps.note(`work directory ${w.work}, logs in ${w.logDir}`);
    key = join(w.work, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e@nkd', '-f', key]);

    const { file, bundledFlannel, mirrorHost, counts } = await steps.step('cluster config', async () => {
      const base = args.file
        ? readConfig(args.file)
        : defaultConfig(`nkde2e-${randomBytes(3).toString('hex')}`);
      const requested = requestedNetwork(base);
      const cidr = requested.cidr ?? (await freeTestCidr(w.daemon.uri));
      const registryHost = `${requested.gateway ?? firstHost(cidr)}:${REGISTRY_PORT}`;
      const filled = fillConfig(base, {
        // The previous patch, so that the upgrade step has a version to go to.
        image: upgrade.image,
        kubeVersion: upgrade.fromVersion,
        registryHost,
        cidr,
        poolPath: join(w.work, 'pool'),
        sshPublicKey: readFileSync(`${key}.pub`, 'utf8').trim(),
        libvirtUri: w.daemon.uri,
        ...(args.file ? { configDir: dirname(resolve(args.file)) } : {}),
      });
      for (const n of filled.notes) steps.note(`config: ${n}`);
      cluster = clusterName(filled.config);
      const spec = filled.config.spec as Record<string, { count?: number; user?: string }>;
      user = spec.access?.user ?? 'nest';
      const written = writeConfig(w.work, filled.config);
      steps.note(`cluster ${cluster}, mirror ${registryHost}/k8s, config ${written}`);
      const network = (spec.network ?? {}) as { plugin?: string; manifest?: string };
      return {
        file: written,
        bundledFlannel: network.plugin === 'flannel' && !network.manifest,
        mirrorHost: registryHost,
        counts: { controlPlanes: spec.controlPlane?.count ?? 1, workers: spec.workers?.count ?? 1 },
      };
    });
    const name = cluster!;
    const total = counts.controlPlanes + counts.workers;
    deadline ??= armDeadline(defaultDeadline(total), steps.elapsed() * 1000, stop);

    await steps.step('npm run images (the air-gap mirror)', async () => {
      const script = join(REPO, 'scripts', 'images', 'build.sh');
      const env = {
        HOME: process.env.HOME ?? '/root',
        NKD_KUBE_BIN: tools.kubeBin,
        NKD_CRANE_BIN: tools.crane,
        ...imagesEnvForUpgrade(upgrade),
        ...(process.env.NKD_TOOLS_CACHE ? { NKD_TOOLS_CACHE: process.env.NKD_TOOLS_CACHE } : {}),
      };
      // The Go programs first, on the host (the namespace cannot reach the Go module proxy); cached.
      mustSucceed(
        'scripts/images/build.sh --build-only',
        await w.exec('images', 'bash', [script, '--build-only'], { env, onHost: true }),
      );
      // Pushed through the namespace's loopback; the guests pull the same repositories at mirrorHost.
      const r = await w.exec('images', 'bash', [script, `127.0.0.1:${REGISTRY_PORT}/k8s`], { env });
      mustSucceed('scripts/images/build.sh', r);
      steps.note(`pushed ${r.out.split('\n').filter((l) => /^127\.0\.0\.1:/.test(l)).length} images`);
    });
    const workloadPath = await steps.step('workload image (scripts/e2e/web) to the mirror', () =>
      pushWorkloadImage(w),
    );

    let figures: Figures | undefined;
    const deployStarted = Date.now();
    const cpuBefore = endedChildrenCpuSeconds();
    await steps.step('nkd deploy', async () => {
      const collect = deployFigures(steps.note);
      const r = await w.nkd('deploy', ['deploy', '-f', file, '--yes', '--json', ...DEPLOY_FLAGS], {
        onLine: collect.onLine,
      });
      figures = collect.figures();
      const wall = (Date.now() - deployStarted) / 1000;
      figures.lines.push(ownTimeFigure('deploy', endedChildrenCpuSeconds() - cpuBefore, wall));
      mustSucceed('nkd deploy', r);
    });
    await steps.step('admin kubeconfig (nkd kubeconfig)', async () => {
      // Merged into a file of its own: the admin kubeconfig of just this cluster, for the checks.
      const args = ['kubeconfig', name, '--merge', '--set-current', '--kubeconfig', w.adminKubeconfig];
      mustSucceed('nkd kubeconfig', await w.nkd('kubeconfig', args));
    });
    await steps.step('the API server answers', () => apiReady(w));
    const nodeNames = await steps.step(`all ${total} nodes Ready`, () => waitNodesReady(w, total, 20 * MIN));
    for (const line of await nodeFigures(w, deployStarted)) steps.note(`figure: ${line}`);
    // A network manifest of the user's own has pods nkd does not know: the nodes' readiness (which
    // needs a working CNI) and the DNS check through the overlay below stand for it.
    if (bundledFlannel)
      await steps.step('flannel runs on every node', () =>
        waitPodsOnNodes(w, 'kube-flannel', 'app=flannel', nodeNames),
      );
    await steps.step('CoreDNS available', () => waitDeploymentAvailable(w, 'kube-system', 'coredns'));
    await steps.step('Housekeeper operator and agents run', async () => {
      await waitDeploymentAvailable(w, 'housekeeper-system', 'housekeeper-operator');
      await waitPodsOnNodes(w, 'housekeeper-system', 'app.kubernetes.io/name=housekeeper-agent', nodeNames);
    });
    await steps.step('nkd kubeconfig --merge, then kubectl get nodes', async () => {
      mustSucceed(
        'nkd kubeconfig --merge',
        await w.nkd('kubeconfig', ['kubeconfig', name, '--merge', '--set-current']),
      );
      const out = mustSucceed(
        'kubectl get nodes',
        await w.exec('kubectl', join(tools.kubeBin, 'kubectl'), ['get', 'nodes']),
      );
      for (const n of nodeNames)
        if (!out.includes(n)) throw new Error(`kubectl get nodes does not list ${n}:\n${out}`);
      steps.note(out.trim().split('\n').join(' | '));
    });
    await steps.step('nkd status', async () => {
      const out = mustSucceed('nkd status', await w.nkd('status', ['status', name]));
      for (const line of out.trim().split('\n')) steps.note(`status: ${line}`);
      if (!out.includes(`Cluster ${name}: healthy`))
        throw new Error('nkd status does not call the cluster healthy');
      for (const n of nodeNames) if (!out.includes(n)) throw new Error(`nkd status does not mention ${n}`);
    });
    // Without workers nkd leaves the control planes untainted, and the workload runs there.
    const where = counts.workers > 0 ? 'a worker' : 'the untainted control plane (no workers)';
    await steps.step(`workload from the mirror runs on ${where}`, async () => {
      const node = await deployWorkload(w, mirrorHost, workloadPath);
      const controlPlanes = (await nodes(w))
        .filter((n) => n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined)
        .map((n) => n.metadata.name);
      if (counts.workers > 0 && controlPlanes.includes(node))
        throw new Error(`the workload runs on the control plane ${node}`);
      steps.note(`${WORKLOAD_NAMESPACE}/web runs on ${node}`);
    });
    await steps.step('CoreDNS answers a pod (through the overlay and the service proxy)', async () => {
      steps.note(`kubernetes.default resolves to ${await resolveThroughWorkload(w, 10 * MIN)}`);
    });
    await steps.step(`nkd upgrade ${name} --kube-version ${upgrade.toVersion} --os-image ... --wait`, () =>
      upgradeStep(w, name, `${mirrorHost}/k8s`, steps.note),
    );
    await steps.step(`nkd scale ${name} --workers ${counts.workers + 1}`, async () => {
      mustSucceed(
        'nkd scale',
        await w.nkd('scale', [
          'scale',
          name,
          '--workers',
          String(counts.workers + 1),
          '--yes',
          '--nodes-timeout',
          '45m',
        ]),
      );
      await waitNodesReady(w, total + 1, 30 * MIN);
      await waitDeploymentAvailable(w, WORKLOAD_NAMESPACE, 'web', 5 * MIN);
    });
    // --keep leaves the cluster running for a look of one's own (the commands are printed at the end).
    if (args.keep) steps.note(`--keep: not destroying ${name}`);
    else
      await steps.step(`nkd destroy ${name}`, async () => {
        mustSucceed('nkd destroy', await w.nkd('destroy', ['destroy', name, '--yes']));
        const left = await libvirtObjectsNamed(w, name);
        if (left.length) throw new Error(`libvirt still has ${left.join(', ')}`);
        const state = join(w.stateDir, 'clusters', name);
        if (existsSync(state)) throw new Error(`the cluster state ${state} is still there`);
        cluster = undefined;
      });
    if (figures) for (const line of figures.lines) steps.note(`figure: ${line}`);
  } catch (error) {
    failed = error instanceof StepFailed ? error.step : 'harness';
    if (!(error instanceof StepFailed))
      console.log(`e2e: ${error instanceof Error ? error.stack : String(error)}`);
    if (world && cluster && key && !interruption.signal) {
      // After the deadline the diagnosis gets a few minutes of its own, then is stopped like the rest.
      let bound: NodeJS.Timeout | undefined;
      if (interruption.deadline) {
        world.resumeCommands();
        bound = setTimeout(() => world?.stopCommands(), DIAGNOSIS_AFTER_DEADLINE_MS);
      }
      await diagnose(world, cluster, user, key, (l) => console.log(l)).catch((e: unknown) =>
        console.log(`e2e: diagnosis failed: ${String(e)}`),
      );
      clearTimeout(bound);
    }
  } finally {
    clearTimeout(deadline);
    await world?.close(cluster, args.keep).catch((e: unknown) => console.log(`e2e: cleanup: ${String(e)}`));
  }
  if (args.keep && world) for (const line of keptHints(world, cluster, user)) console.log(`e2e: ${line}`);
  console.log(`e2e: total ${steps.elapsed().toFixed(0)} s`);
  console.log(failed ? `e2e: FAIL ${failed}` : 'e2e: PASS');
  return interruption.signal ? 130 : failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.log(`e2e: ${error instanceof Error ? error.message : String(error)}`);
    console.log('e2e: FAIL arguments');
    process.exit(2);
  },
);
