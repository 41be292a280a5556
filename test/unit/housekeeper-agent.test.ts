import { describe, expect, it } from 'vitest';
import { NodeAgent } from '../../src/housekeeper/agent/agent.js';
import { SAFE_TO_EVICT_LOCAL_VOLUMES } from '../../src/housekeeper/agent/drain.js';
import { chrootExecutor, hostExecutor } from '../../src/housekeeper/agent/executor.js';
import { failureReason, imageName, parseOsStatus } from '../../src/housekeeper/agent/host.js';
import {
  CONTROL_PLANE_VERSION_ANNOTATION,
  KubeStatusError,
  STAY_ON_DRAIN_ANNOTATION,
  type NodeProgress,
  type NodeTarget,
  type UpdateObject,
} from '../../src/housekeeper/types.js';
import { MemoryKube, type NodeSetup } from '../helpers/memory-kube.js';
import { ScriptedHost, type ScriptedHostSetup } from '../helpers/scripted-host.js';

const NODE = 'node-1';
const OLD = 'hub.example/nestos:old';
const NEW = 'hub.example/nestos:new';
const KEY = 'housekeeper-system/up@1';
const STATUS = 'rpm-ostree status --json';
const REBASE = `rpm-ostree rebase --experimental ostree-unverified-registry:${NEW}`;
const MANIFESTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
const STAGED = '/ostree/deploy/nestos/deploy/bbb.0/usr/bin';
const STAGED_KUBELET = `${STAGED}/kubelet --version`;
const STAGED_KUBEADM = `${STAGED}/kubeadm version -o short`;
const CAT = `cat ${MANIFESTS.map((c) => `/etc/kubernetes/manifests/${c}.yaml`).join(' ')}`;
/** Whether nkd rendered its kubeadm patches here, asked before every `kubeadm upgrade apply|node`. */
const PATCHES_PROBE = 'cat /etc/nkd/kubeadm-patches/kube-apiserver+strategic.yaml';
const PATCHES = '--patches /etc/nkd/kubeadm-patches';

function target(over: Partial<NodeTarget> = {}): NodeTarget {
  return { key: KEY, firstControlPlane: false, evictPodForce: false, drainTimeoutSeconds: 300, ...over };
}

/** The Update (housekeeper-system/up, generation 1) whose spec asks for exactly this target. */
function updateFor(t: NodeTarget, generation = 1): UpdateObject {
  return {
    apiVersion: 'housekeeper.io/v1alpha1',
    kind: 'Update',
    metadata: { name: 'up', namespace: 'housekeeper-system', generation },
    spec: {
      ...(t.osImageURL && { osImageURL: t.osImageURL }),
      ...(t.kubeVersion && { kubeVersion: t.kubeVersion }),
      evictPodForce: t.evictPodForce,
      ...(t.deleteEmptyDirData && { deleteEmptyDirData: true }),
      drainTimeoutSeconds: t.drainTimeoutSeconds,
    },
  };
}

/** A node, its scripted host, an agent factory and a clock that only moves when told. */
function world(node: NodeSetup = {}, hostSetup: ScriptedHostSetup = {}) {
  let clock = Date.parse('2025-06-03T14:00:00Z');
  const now = () => new Date(clock);
  const kube = new MemoryKube(now);
  kube.addNode(NODE, node);
  const host = new ScriptedHost({ booted: `ostree-unverified-registry:${OLD}`, ...hostSetup });
  // What the node's progress said at the moment each host command ran.
  host.observe = () => kube.progress(NODE)?.phase;
  // kubelet's new version shows once it restarted, as the kubeadm upgrade left it.
  host.onCommand = (line) => {
    if (line === 'systemctl restart kubelet') kube.setKubelet(NODE, host.kubeadmVersion);
  };
  const logs: string[] = [];
  const agent = () =>
    new NodeAgent({
      nodeName: NODE,
      namespace: 'housekeeper-system',
      kube,
      host,
      now,
      log: (l) => logs.push(l),
    });
  const commandsFrom = (i: number) => host.commands.slice(i);
  /** What the operator does: an Update asking for the target (generation 1), and the target on the node. */
  const handOut = (t: NodeTarget) => {
    kube.updates.set('housekeeper-system/up', updateFor(t));
    kube.setTarget(NODE, t);
  };
  return { kube, host, agent, logs, commandsFrom, handOut, advance: (ms: number) => (clock += ms) };
}

/** Progress an earlier agent left behind (for restarts). */
function progress(phase: NodeProgress['phase'], over: Partial<NodeProgress> = {}): NodeProgress {
  const at = '2025-06-03T14:00:00.000Z';
  return { key: KEY, phase, startedAt: at, lastTransitionTime: at, ...over };
}

describe('reporting the booted OS image', () => {
  it('writes the image without its transport, once, and stays idle without a target', async () => {
    const w = world();
    expect(await w.agent().step()).toBe('idle');
    expect(w.kube.osImage(NODE)).toBe(OLD);
    expect(await w.agent().step()).toBe('idle');
    expect(w.kube.calls.filter((c) => c.startsWith('patchNode'))).toHaveLength(1);
    expect(w.host.commands).toEqual([STATUS, STATUS]);
  });

  it('reads the booted and the pending deployment, whatever the transport', () => {
    expect(imageName(`ostree-remote-image:nestos:docker://${NEW}`)).toBe(NEW);
    expect(imageName(`ostree-image-signed:registry:${NEW}`)).toBe(NEW);
    expect(imageName('ostree-remote-registry:nestos:reg.example:5000/os:1')).toBe('reg.example:5000/os:1');
    const json = JSON.stringify({
      deployments: [
        { booted: false, 'container-image-reference': `ostree-unverified-registry:${NEW}` },
        { booted: true },
      ],
    });
    expect(parseOsStatus(json)).toEqual({ booted: '', pending: NEW });
  });
});

describe('upgrading the OS', () => {
  it('drains, rebases, reboots, and a new agent after the reboot verifies and finishes', async () => {
    const w = world();
    w.kube.addPod('shop', 'web-1', { node: NODE });
    w.kube.addPod('kube-system', 'proxy', { node: NODE, owner: 'DaemonSet' });
    w.kube.addPod('kube-system', 'etcd', { node: NODE, mirror: true, owner: 'none' });
    w.kube.addPod('batch', 'done', { node: NODE, owner: 'Job', phase: 'Succeeded' });
    w.kube.addPod('shop', 'web-2', { node: 'node-2' });
    w.handOut(target({ osImageURL: NEW }));

    expect(await w.agent().step()).toBe('rebooting');
    expect(w.host.commands).toEqual([STATUS, REBASE, STATUS, STAGED_KUBELET, 'systemctl reboot']);
    // Each phase was on the node before its side effect started.
    expect(w.host.observed).toEqual([undefined, 'upgrading-os', 'upgrading-os', 'upgrading-os', 'rebooting']);
    expect(w.kube.calls.filter((c) => c.startsWith('evict'))).toEqual(['evict shop/web-1']);
    const cordonAt = w.kube.calls.findIndex((c) => c.includes('"unschedulable":true'));
    const drainingAt = w.kube.calls.findIndex((c) => c.includes('\\"phase\\":\\"draining\\"'));
    expect(drainingAt).toBeGreaterThanOrEqual(0);
    expect(drainingAt).toBeLessThan(cordonAt);

    w.host.reboot();
    w.advance(120_000);
    expect(await w.agent().step()).toBe('done');
    expect(w.commandsFrom(5)).toEqual([STATUS]);
    const done = w.kube.progress(NODE);
    expect(done).toMatchObject({
      phase: 'done',
      cordonedByAgent: true,
      startedAt: '2025-06-03T14:00:00.000Z',
    });
    expect(done?.finishedAt).toBe('2025-06-03T14:02:00.000Z');
    expect(w.kube.node(NODE).spec?.unschedulable).toBe(false);
    expect(w.kube.osImage(NODE)).toBe(NEW);
    expect(await w.agent().step()).toBe('idle');
  });

  it('does not rebase again when the target is already staged', async () => {
    const w = world({ unschedulable: true });
    w.host.staged = `ostree-unverified-registry:${NEW}`;
    w.handOut(target({ osImageURL: NEW }));
    w.kube.setProgress(NODE, progress('upgrading-os', { cordonedByAgent: true }));
    expect(await w.agent().step()).toBe('rebooting');
    expect(w.host.commands).toEqual([STATUS, STAGED_KUBELET, 'systemctl reboot']);
  });

  it('waits for a pending reboot, and fails when it never comes', async () => {
    const w = world({ unschedulable: true });
    w.host.staged = `ostree-unverified-registry:${NEW}`;
    w.handOut(target({ osImageURL: NEW }));
    w.kube.setProgress(NODE, progress('rebooting'));
    expect(await w.agent().step()).toBe('rebooting');
    w.advance(16 * 60_000);
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toMatch(/did not reboot into .* within 15 minutes/);
  });

  it('fails when the node rebooted but still runs the old image', async () => {
    const w = world({ unschedulable: true });
    w.handOut(target({ osImageURL: NEW }));
    w.kube.setProgress(NODE, progress('rebooting'));
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toBe(`rebooted but still on ${OLD}, not ${NEW}`);
    expect(w.host.commands).toEqual([STATUS]);
  });

  it('records a failing rpm-ostree with its last stderr line and does not retry it', async () => {
    const w = world();
    w.host.fail(
      'rpm-ostree rebase',
      'Pulling manifest: ostree-unverified-registry:x\nerror: reading manifest new: manifest unknown\n',
    );
    w.handOut(target({ osImageURL: NEW }));
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)).toMatchObject({
      phase: 'failed',
      lastError: `${REBASE}: error: reading manifest new: manifest unknown`,
      message: 'failed while upgrading-os',
    });
    expect(await w.agent().step()).toBe('idle');
    expect(w.host.commands).toEqual([STATUS, REBASE, STATUS]);
  });
});

describe('upgrading Kubernetes', () => {
  it('runs kubeadm upgrade apply on the first control plane, then restarts kubelet', async () => {
    const w = world({ controlPlane: true }, { kubeadmVersion: 'v1.30.4', controlPlaneVersion: 'v1.29.6' });
    w.handOut(target({ kubeVersion: 'v1.30.4', firstControlPlane: true }));
    expect(await w.agent().step()).toBe('done');
    expect(w.host.commands).toEqual([
      STATUS,
      CAT,
      'kubeadm version -o short',
      PATCHES_PROBE,
      'kubeadm upgrade apply v1.30.4 --yes',
      'systemctl restart kubelet',
    ]);
    expect(w.host.observed.slice(2)).toEqual(Array(4).fill('upgrading-kubernetes'));
  });

  it('runs kubeadm upgrade node on every other node', async () => {
    const w = world({}, { kubeadmVersion: 'v1.30.4' });
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('done');
    expect(w.commandsFrom(1)).toEqual([
      'kubeadm version -o short',
      PATCHES_PROBE,
      'kubeadm upgrade node',
      'systemctl restart kubelet',
    ]);
  });

  it('skips kubeadm when the kubelet (and, on a control plane, its static pods) are at the target', async () => {
    const worker = world({ kubeletVersion: 'v1.30.4' }, { kubeadmVersion: 'v1.30.4' });
    worker.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await worker.agent().step()).toBe('done');
    expect(worker.host.commands).toEqual([STATUS]);

    const cp = world({ kubeletVersion: 'v1.30.4', controlPlane: true }, { controlPlaneVersion: 'v1.30.4' });
    cp.handOut(target({ kubeVersion: 'v1.30.4', firstControlPlane: true }));
    expect(await cp.agent().step()).toBe('done');
    // CAT twice: the static-pod version the agent reports on every pass, and the check before kubeadm.
    expect(cp.host.commands).toEqual([STATUS, CAT, CAT]);
  });

  it('fails clearly when the OS image does not carry the target kubeadm', async () => {
    const w = world({}, { kubeadmVersion: 'v1.29.6' });
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toMatch(
      /^kubeadm on the node is v1\.29\.6, the target is v1\.30\.4: the node's OS image must carry kubeadm v1\.30\.4/,
    );
    expect(w.host.commands).not.toContain('kubeadm upgrade node');
  });
});

describe('version rules, checked before they can strand a node', () => {
  it('does not even cordon for a Kubernetes version kubeadm cannot reach from the API server', async () => {
    const skip = world({}, { kubeadmVersion: 'v1.31.2' });
    skip.kube.apiServerVersion = 'v1.29.6';
    skip.handOut(target({ kubeVersion: 'v1.31.2' }));
    expect(await skip.agent().step()).toBe('failed');
    expect(skip.kube.progress(NODE)?.lastError).toBe(
      'not started: the API server runs v1.29.6: kubeadm upgrades one minor version at a time, so v1.31.2 is out of reach',
    );
    expect(skip.kube.node(NODE).spec?.unschedulable).toBeUndefined();

    const down = world({}, { kubeadmVersion: 'v1.28.9' });
    down.handOut(target({ kubeVersion: 'v1.28.9' }));
    expect(await down.agent().step()).toBe('failed');
    expect(down.kube.progress(NODE)?.lastError).toMatch(/would be a downgrade/);
  });

  it('refuses to boot an OS-only image whose kubelet is newer than the API server, and unstages it', async () => {
    const w = world();
    w.host.versionOfImage = () => 'v1.30.4'; // the new image carries Kubernetes 1.30; the API server is 1.29
    w.handOut(target({ osImageURL: NEW }));
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toBe(
      `not booting ${NEW}: its kubelet v1.30.4 would be newer than the API server v1.29.6, which the ` +
        'version-skew policy forbids; ask for kubeVersion in the same Update',
    );
    expect(w.host.commands).not.toContain('systemctl reboot');
    expect(w.host.commands).toContain('rpm-ostree cleanup --pending');
    expect(w.host.staged).toBeUndefined();
  });

  it('refuses to boot an image that does not carry the target kubeadm, before the reboot', async () => {
    const w = world({}, { kubeadmVersion: 'v1.29.6' });
    w.host.versionOfImage = () => 'v1.29.6';
    w.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toBe(
      `not booting ${NEW}: it carries kubeadm v1.29.6, and the target is v1.30.4`,
    );
    expect(w.host.commands).not.toContain('systemctl reboot');
  });

  it('boots an OS-only image whose kubelet is not newer than the API server', async () => {
    const w = world();
    w.host.versionOfImage = () => 'v1.29.8';
    w.handOut(target({ osImageURL: NEW }));
    expect(await w.agent().step()).toBe('rebooting');
  });
});

describe('kubeadm from the staged deployment, before the reboot (version skew at every instant)', () => {
  it('the first control plane: the staged kubeadm upgrades its static pods while the old kubelet runs, then the reboot brings the new kubelet', async () => {
    const w = world({ controlPlane: true }, { controlPlaneVersion: 'v1.29.6' });
    w.host.versionOfImage = () => 'v1.30.4';
    // What the node's kubelet reported when each command ran, beside its progress.
    w.host.observe = () =>
      `${w.kube.progress(NODE)?.phase}/${w.kube.node(NODE).status?.nodeInfo?.kubeletVersion}`;
    w.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4', firstControlPlane: true }));
    expect(await w.agent().step()).toBe('rebooting');
    const apply = `${STAGED}/kubeadm upgrade apply v1.30.4 --yes`;
    expect(w.host.commands).toEqual([
      STATUS,
      CAT,
      REBASE,
      STATUS,
      STAGED_KUBEADM,
      PATCHES_PROBE,
      apply,
      'systemctl reboot',
    ]);
    // The API server went to v1.30.4 while the kubelet was still v1.29.6 (older: allowed); never the
    // other way round.
    expect(w.host.observed.slice(-2)).toEqual(['upgrading-kubernetes/v1.29.6', 'rebooting/v1.29.6']);
    expect(w.host.controlPlaneVersion).toBe('v1.30.4');
    expect(w.kube.progress(NODE)).toMatchObject({ phase: 'rebooting', kubeadm: 'done' });

    w.host.reboot();
    w.host.kubeadmVersion = 'v1.30.4';
    w.kube.setKubelet(NODE, 'v1.30.4');
    expect(await w.agent().step()).toBe('done');
    // Nothing of kubeadm's is left after the boot: no second run, no kubelet restart.
    expect(w.commandsFrom(8)).toEqual([STATUS, CAT]);
  });

  it('a worker: `kubeadm upgrade node` from the staged deployment writes the new kubelet configuration before the reboot', async () => {
    const w = world();
    w.host.versionOfImage = () => 'v1.30.4';
    w.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('rebooting');
    expect(w.commandsFrom(3)).toEqual([
      STAGED_KUBEADM,
      PATCHES_PROBE,
      `${STAGED}/kubeadm upgrade node`,
      'systemctl reboot',
    ]);
    expect(w.host.kubeletConfigVersion).toBe('v1.30.4');
  });

  it('an OS-only image that changes the kubelet: `kubeadm upgrade node` on a worker, only the kubelet-config phase on a control plane', async () => {
    const worker = world();
    worker.host.versionOfImage = () => 'v1.29.8';
    worker.handOut(target({ osImageURL: NEW }));
    expect(await worker.agent().step()).toBe('rebooting');
    expect(worker.commandsFrom(3)).toEqual([
      STAGED_KUBELET,
      STAGED_KUBEADM,
      PATCHES_PROBE,
      `${STAGED}/kubeadm upgrade node`,
      'systemctl reboot',
    ]);
    expect(worker.host.kubeletConfigVersion).toBe('v1.29.8');

    const cp = world({ controlPlane: true }, { controlPlaneVersion: 'v1.29.6' });
    cp.host.versionOfImage = () => 'v1.29.8';
    cp.handOut(target({ osImageURL: NEW }));
    expect(await cp.agent().step()).toBe('rebooting');
    expect(cp.host.commands).toContain(`${STAGED}/kubeadm upgrade node phase kubelet-config`);
    expect(cp.host.controlPlaneVersion).toBe('v1.29.6'); // its static pods stay at the cluster's version

    // The same kubelet in the new image: nothing for kubeadm to do.
    const same = world();
    same.host.versionOfImage = () => 'v1.29.6';
    same.handOut(target({ osImageURL: NEW }));
    expect(await same.agent().step()).toBe('rebooting');
    expect(same.host.commands.filter((c) => c.includes('kubeadm'))).toEqual([]);
  });

  it('an agent restarted while the staged kubeadm ran runs it again (idempotent), without rebasing again, then reboots', async () => {
    const w = world({ unschedulable: true });
    w.host.versionOfImage = () => 'v1.30.4';
    w.host.staged = `ostree-unverified-registry:${NEW}`;
    w.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4' }));
    w.kube.setProgress(NODE, progress('upgrading-kubernetes', { cordonedByAgent: true, kubeadm: 'staged' }));
    expect(await w.agent().step()).toBe('rebooting');
    expect(w.host.commands).toEqual([
      STATUS,
      STAGED_KUBEADM,
      PATCHES_PROBE,
      `${STAGED}/kubeadm upgrade node`,
      'systemctl reboot',
    ]);
  });

  it('a failing staged kubeadm fails the node before the reboot and unstages the image: it stays on its current OS', async () => {
    const w = world();
    w.host.versionOfImage = () => 'v1.30.4';
    w.host.fail(`${STAGED}/kubeadm upgrade node`, 'error execution phase preflight: unhealthy');
    w.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)).toMatchObject({
      phase: 'failed',
      message: 'failed while upgrading-kubernetes',
      lastError: `${STAGED}/kubeadm upgrade node: error execution phase preflight: unhealthy`,
    });
    expect(w.host.commands.at(-1)).toBe('rpm-ostree cleanup --pending');
    expect(w.host.commands).not.toContain('systemctl reboot');
    expect(w.host.staged).toBeUndefined();
  });
});

describe('reporting the control-plane version', () => {
  it("reports the static pods' version on a control plane, whatever its kubelet says", async () => {
    const w = world({ controlPlane: true, kubeletVersion: 'v1.30.4' }, { controlPlaneVersion: 'v1.29.6' });
    expect(await w.agent().step()).toBe('idle');
    const annotations = w.kube.node(NODE).metadata.annotations ?? {};
    expect(annotations[CONTROL_PLANE_VERSION_ANNOTATION]).toBe('v1.29.6');
    w.host.controlPlaneVersion = 'v1.30.4';
    await w.agent().step();
    expect(w.kube.node(NODE).metadata.annotations?.[CONTROL_PLANE_VERSION_ANNOTATION]).toBe('v1.30.4');
  });

  it('reports nothing of the kind on a worker', async () => {
    const w = world();
    await w.agent().step();
    expect(w.kube.node(NODE).metadata.annotations).not.toHaveProperty(CONTROL_PLANE_VERSION_ANNOTATION);
  });
});

describe('upgrading both', () => {
  it('upgrades the control plane after the reboot although the new image already brought the kubelet', async () => {
    const w = world({ controlPlane: true }, { controlPlaneVersion: 'v1.29.6' });
    w.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4', firstControlPlane: true }));
    expect(await w.agent().step()).toBe('rebooting');
    expect(w.host.commands).toEqual([STATUS, CAT, REBASE, STATUS, STAGED_KUBEADM, 'systemctl reboot']);

    // The new image carries kubelet and kubeadm v1.30.4; the static pods are still the old ones.
    w.host.reboot();
    w.host.kubeadmVersion = 'v1.30.4';
    w.kube.setKubelet(NODE, 'v1.30.4');
    expect(await w.agent().step()).toBe('done');
    // No look at the static pods either: with the OS changing, kubeadm always runs (it is idempotent).
    expect(w.commandsFrom(6)).toEqual([
      STATUS,
      CAT,
      'kubeadm version -o short',
      PATCHES_PROBE,
      'kubeadm upgrade apply v1.30.4 --yes',
      'systemctl restart kubelet',
    ]);
    expect(w.host.observed.at(-2)).toBe('upgrading-kubernetes');
  });
});

describe("nkd's kubeadm patches (probeTolerance) through kubeadm upgrade", () => {
  const patched = { controlPlaneVersion: 'v1.29.6', kubeadmPatches: true };

  it('passes them to `upgrade apply` on the first control plane and `upgrade node` on another, after the boot', async () => {
    const first = world({ controlPlane: true }, { ...patched, kubeadmVersion: 'v1.30.4' });
    first.handOut(target({ kubeVersion: 'v1.30.4', firstControlPlane: true }));
    expect(await first.agent().step()).toBe('done');
    expect(first.host.commands).toContain(`kubeadm upgrade apply v1.30.4 --yes ${PATCHES}`);
    expect(first.host.staticPodsPatched).toBe(true);

    const other = world({ controlPlane: true }, { ...patched, kubeadmVersion: 'v1.30.4' });
    other.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await other.agent().step()).toBe('done');
    expect(other.host.commands).toContain(`kubeadm upgrade node ${PATCHES}`);
    expect(other.host.staticPodsPatched).toBe(true);
  });

  it('passes them to the staged kubeadm before the reboot, but not to the kubelet-config phase', async () => {
    const first = world({ controlPlane: true }, patched);
    first.host.versionOfImage = () => 'v1.30.4';
    first.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4', firstControlPlane: true }));
    expect(await first.agent().step()).toBe('rebooting');
    expect(first.host.commands).toContain(`${STAGED}/kubeadm upgrade apply v1.30.4 --yes ${PATCHES}`);
    expect(first.host).toMatchObject({ controlPlaneVersion: 'v1.30.4', staticPodsPatched: true });

    const other = world({ controlPlane: true }, patched);
    other.host.versionOfImage = () => 'v1.30.4';
    other.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4' }));
    expect(await other.agent().step()).toBe('rebooting');
    expect(other.host.commands).toContain(`${STAGED}/kubeadm upgrade node ${PATCHES}`);
    expect(other.host).toMatchObject({ controlPlaneVersion: 'v1.30.4', staticPodsPatched: true });

    // An OS-only image with another kubelet: the phase writes no static pods, and takes no patches.
    const osOnly = world({ controlPlane: true }, patched);
    osOnly.host.versionOfImage = () => 'v1.29.8';
    osOnly.handOut(target({ osImageURL: NEW }));
    expect(await osOnly.agent().step()).toBe('rebooting');
    expect(osOnly.host.commands).toContain(`${STAGED}/kubeadm upgrade node phase kubelet-config`);
    expect(osOnly.host.commands).not.toContain(PATCHES_PROBE);
  });

  it('passes nothing where there are none: a worker, or a control plane rendered without them', async () => {
    const worker = world({}, { kubeadmVersion: 'v1.30.4' });
    worker.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await worker.agent().step()).toBe('done');
    expect(worker.host.commands.filter((c) => c.includes('upgrade'))).toEqual(['kubeadm upgrade node']);

    const cp = world({ controlPlane: true }, { controlPlaneVersion: 'v1.29.6' });
    cp.host.versionOfImage = () => 'v1.30.4';
    cp.handOut(target({ osImageURL: NEW, kubeVersion: 'v1.30.4', firstControlPlane: true }));
    expect(await cp.agent().step()).toBe('rebooting');
    expect(cp.host.commands.filter((c) => c.includes('upgrade'))).toEqual([
      `${STAGED}/kubeadm upgrade apply v1.30.4 --yes`,
    ]);
    expect(cp.host).toMatchObject({ controlPlaneVersion: 'v1.30.4', staticPodsPatched: false });
  });
});

describe('draining', () => {
  it('an agent restarted mid-drain neither cordons again nor changes who cordoned', async () => {
    const w = world({ unschedulable: true }, { kubeadmVersion: 'v1.30.4' });
    w.kube.addPod('shop', 'web-1', { node: NODE, labels: { app: 'web' } });
    w.kube.addPdb('shop', 'web-pdb', { app: 'web' });
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    w.kube.setProgress(NODE, progress('draining', { cordonedByAgent: true }));
    expect(await w.agent().step()).toBe('draining');
    expect(w.kube.calls.some((c) => c.includes('unschedulable'))).toBe(false);
    expect(w.kube.progress(NODE)?.cordonedByAgent).toBe(true);
  });

  it('leaves a cordon it did not make in place', async () => {
    const w = world({ unschedulable: true, kubeletVersion: 'v1.30.4' });
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('done');
    expect(w.kube.progress(NODE)?.cordonedByAgent).toBeUndefined();
    expect(w.kube.node(NODE).spec?.unschedulable).toBe(true);
  });

  it('lifts its own cordon from a failed earlier target when a new key finishes', async () => {
    const w = world({ unschedulable: true, kubeletVersion: 'v1.30.4' });
    w.kube.setProgress(NODE, progress('failed', { key: 'housekeeper-system/up@0', cordonedByAgent: true }));
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('done');
    expect(w.kube.node(NODE).spec?.unschedulable).toBe(false);
  });

  it('fails at the drain timeout naming the PodDisruptionBudget and the pod it blocks', async () => {
    const w = world({ kubeletVersion: 'v1.30.4' });
    w.kube.addPod('shop', 'web-1', { node: NODE, labels: { app: 'web' } });
    w.kube.addPdb('shop', 'web-pdb', { app: 'web' });
    w.kube.addPdb('shop', 'db-pdb', { app: 'db' });
    w.handOut(target({ kubeVersion: 'v1.30.4', drainTimeoutSeconds: 60 }));
    expect(await w.agent().step()).toBe('draining');
    expect(w.kube.progress(NODE)?.message).toBe(
      'draining: eviction of pod shop/web-1 blocked by PodDisruptionBudget shop/web-pdb',
    );
    w.advance(59_000);
    expect(await w.agent().step()).toBe('draining');
    w.advance(1_000);
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toBe(
      'drain did not finish within 60s: eviction of pod shop/web-1 blocked by PodDisruptionBudget ' +
        'shop/web-pdb; set evictPodForce to delete such pods at the timeout',
    );
    expect(await w.agent().step()).toBe('idle');
    expect(w.kube.calls.filter((c) => c.startsWith('evict'))).toHaveLength(3);
    expect(w.kube.calls.some((c) => c.startsWith('delete'))).toBe(false);
  });

  it("does not drain a pod with emptyDir data without the Update's consent, and does with it", async () => {
    const withScratch = (w: ReturnType<typeof world>) => {
      w.kube.addPod('shop', 'cache-1', { node: NODE });
      const pod = w.kube.pods.get('shop/cache-1')!;
      pod.spec = { ...pod.spec, volumes: [{ name: 'scratch', emptyDir: {} }] };
    };
    const refused = world({ kubeletVersion: 'v1.30.4' });
    withScratch(refused);
    refused.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await refused.agent().step()).toBe('failed');
    expect(refused.kube.progress(NODE)?.lastError).toBe(
      'pod shop/cache-1 keeps data in an emptyDir volume that the drain would delete; set deleteEmptyDirData ' +
        'on the Update to accept that',
    );
    expect(refused.kube.calls.some((c) => c.startsWith('evict'))).toBe(false);

    const consented = world({ kubeletVersion: 'v1.30.4' });
    withScratch(consented);
    consented.handOut(target({ kubeVersion: 'v1.30.4', deleteEmptyDirData: true }));
    expect(await consented.agent().step()).toBe('done');
    expect(consented.kube.calls).toContain('evict shop/cache-1');
  });

  it('drains a pod whose emptyDir volumes are all declared safe to evict, and not one with another', async () => {
    const withVolumes = (w: ReturnType<typeof world>, safe: string) => {
      w.kube.addPod('housekeeper-system', 'operator-1', { node: NODE });
      const pod = w.kube.pods.get('housekeeper-system/operator-1')!;
      pod.metadata.annotations = { [SAFE_TO_EVICT_LOCAL_VOLUMES]: safe };
      pod.spec = {
        ...pod.spec,
        volumes: [
          { name: 'tmp', emptyDir: {} },
          { name: 'cache', emptyDir: {} },
        ],
      };
    };
    const scratchOnly = world({ kubeletVersion: 'v1.30.4' });
    withVolumes(scratchOnly, 'tmp, cache');
    scratchOnly.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await scratchOnly.agent().step()).toBe('done');
    expect(scratchOnly.kube.calls).toContain('evict housekeeper-system/operator-1');

    const partly = world({ kubeletVersion: 'v1.30.4' });
    withVolumes(partly, 'tmp');
    partly.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await partly.agent().step()).toBe('failed');
    expect(partly.kube.progress(NODE)?.lastError).toMatch(/^pod housekeeper-system\/operator-1 keeps data/);
  });

  it('leaves a pod marked to stay on drain (the operator) on the node, and finishes the drain', async () => {
    const w = world({ kubeletVersion: 'v1.30.4' });
    w.kube.addPod('housekeeper-system', 'operator-1', { node: NODE });
    w.kube.pods.get('housekeeper-system/operator-1')!.metadata.annotations = {
      [STAY_ON_DRAIN_ANNOTATION]: 'true',
    };
    w.kube.addPod('shop', 'web-1', { node: NODE });
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('done');
    expect(w.kube.calls).toContain('evict shop/web-1');
    expect(w.kube.calls).not.toContain('evict housekeeper-system/operator-1');
  });

  it('reports a 429 from API priority and fairness as throttling, not as a PodDisruptionBudget', async () => {
    const w = world({ kubeletVersion: 'v1.30.4' });
    w.kube.addPod('shop', 'web-1', { node: NODE, labels: { app: 'web' } });
    w.kube.evictPod = async () => {
      throw new KubeStatusError(
        429,
        'HTTP 429 from POST /api/v1/namespaces/shop/pods/web-1/eviction: Too many requests, please try again later.',
      );
    };
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('draining');
    expect(w.kube.progress(NODE)?.message).toBe(
      'draining: eviction of pod shop/web-1 throttled by the API server (429), retrying',
    );
  });

  it('with evictPodForce deletes a pod still blocked at the timeout and goes on', async () => {
    const w = world({ kubeletVersion: 'v1.30.4' });
    w.kube.addPod('shop', 'web-1', { node: NODE, labels: { app: 'web' } });
    w.kube.addPdb('shop', 'web-pdb', { app: 'web' });
    w.handOut(target({ kubeVersion: 'v1.30.4', drainTimeoutSeconds: 60, evictPodForce: true }));
    expect(await w.agent().step()).toBe('draining');
    w.advance(60_000);
    expect(await w.agent().step()).toBe('done');
    expect(w.kube.calls).toContain('delete shop/web-1');
    expect(w.kube.pods.has('shop/web-1')).toBe(false);
  });

  it('waits for evicted pods to terminate before going on', async () => {
    const w = world({ kubeletVersion: 'v1.30.4' });
    w.kube.graceful = true;
    w.kube.addPod('shop', 'web-1', { node: NODE });
    w.kube.addPod('shop', 'stuck', { node: NODE, deletionTimestamp: '2025-06-03T13:00:00.000Z' });
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('draining');
    expect(w.kube.progress(NODE)?.message).toBe('draining: pod shop/web-1 still terminating');
    w.kube.pods.delete('shop/web-1');
    expect(await w.agent().step()).toBe('done');
  });

  it('refuses to evict a pod without a controller unless evictPodForce', async () => {
    const w = world({ kubeletVersion: 'v1.30.4' });
    w.kube.addPod('default', 'debug', { node: NODE, owner: 'none' });
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toMatch(/^pod default\/debug not managed by a controller/);
    expect(w.kube.calls.some((c) => c.startsWith('evict'))).toBe(false);
  });
});

describe('verifying', () => {
  it('waits for the node to be Ready, then fails after 10 minutes without uncordoning', async () => {
    const w = world({ kubeletVersion: 'v1.30.4', ready: false });
    w.handOut(target({ kubeVersion: 'v1.30.4' }));
    expect(await w.agent().step()).toBe('verifying');
    expect(w.kube.progress(NODE)?.message).toBe('waiting for the node to be Ready');
    w.advance(10 * 60_000);
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toMatch(
      /^not verified within 10 minutes: still waiting for the node/,
    );
    expect(w.kube.node(NODE).spec?.unschedulable).toBe(true);
  });
});

describe('run', () => {
  it('logs a failing pass, keeps polling, and stops when aborted', async () => {
    const w = world();
    let getNodeCalls = 0;
    const getNode = w.kube.getNode.bind(w.kube);
    w.kube.getNode = async (name) =>
      ++getNodeCalls === 1 ? Promise.reject(new Error('connection refused')) : getNode(name);
    const controller = new AbortController();
    const sleeps: number[] = [];
    const logs: string[] = [];
    const agent = new NodeAgent({
      nodeName: NODE,
      namespace: 'housekeeper-system',
      kube: w.kube,
      host: w.host,
      pollMs: 5_000,
      log: (l) => logs.push(l),
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 3) controller.abort();
      },
    });
    await agent.run(controller.signal);
    expect(sleeps).toEqual([5_000, 5_000, 5_000]);
    expect(logs[0]).toBe('node node-1: pass failed, retrying: connection refused');
    expect(logs).toContain('node node-1: idle');
  });
});

describe.runIf(process.getuid?.() === 0)('chrootExecutor', () => {
  const host = chrootExecutor('/');
  it('runs a read in the root without a shell and returns its exit code and output', async () => {
    const missing = await host.run(['cat', '/nonexistent-housekeeper-test', '$(id)']);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('$(id)');
  });
});

describe('host commands that change the host', () => {
  function recorder(answers: Record<string, { exitCode: number; stdout?: string; stderr?: string }> = {}) {
    const calls: string[] = [];
    const host = hostExecutor(
      async (argv) => {
        calls.push(argv.join(' '));
        const a = Object.entries(answers).find(([prefix]) => argv.join(' ').startsWith(prefix))?.[1];
        return { exitCode: a?.exitCode ?? 0, stdout: a?.stdout ?? '', stderr: a?.stderr ?? '' };
      },
      () => 'nkd-housekeeper-1',
    );
    return { calls, host };
  }

  it('run as a transient host unit with a time limit, outside the agent pod, their output read back', async () => {
    const r = recorder({
      'systemd-run': { exitCode: 1 },
      'cat /run/nkd-housekeeper/nkd-housekeeper-1.out': { exitCode: 0, stdout: '[upgrade] ...\n' },
      'cat /run/nkd-housekeeper/nkd-housekeeper-1.err': { exitCode: 0, stdout: 'error: etcd is unhealthy\n' },
    });
    const result = await r.host.run(['kubeadm', 'upgrade', 'apply', 'v1.30.4', '--yes']);
    expect(result).toEqual({ exitCode: 1, stdout: '[upgrade] ...\n', stderr: 'error: etcd is unhealthy\n' });
    expect(r.calls[1]).toBe(
      'systemd-run --wait --collect --quiet --unit=nkd-housekeeper-1 --property=Type=exec ' +
        '--property=RuntimeMaxSec=1800 --property=StandardOutput=truncate:/run/nkd-housekeeper/nkd-housekeeper-1.out ' +
        '--property=StandardError=truncate:/run/nkd-housekeeper/nkd-housekeeper-1.err -- kubeadm upgrade apply v1.30.4 --yes',
    );
  });

  it('while reads run directly', async () => {
    const r = recorder();
    await r.host.run(['rpm-ostree', 'status', '--json']);
    await r.host.run(['/ostree/deploy/nestos/deploy/bbb.0/usr/bin/kubelet', '--version']);
    await r.host.run(['/ostree/deploy/nestos/deploy/bbb.0/usr/bin/kubeadm', 'version', '-o', 'short']);
    expect(r.calls).toEqual([
      'rpm-ostree status --json',
      '/ostree/deploy/nestos/deploy/bbb.0/usr/bin/kubelet --version',
      '/ostree/deploy/nestos/deploy/bbb.0/usr/bin/kubeadm version -o short',
    ]);
  });

  it("and the staged deployment's kubeadm upgrading is a change: a host unit too", async () => {
    const r = recorder();
    await r.host.run(['/ostree/deploy/nestos/deploy/bbb.0/usr/bin/kubeadm', 'upgrade', 'node']);
    expect(r.calls[1]).toMatch(
      /^systemd-run .* -- \/ostree\/deploy\/nestos\/deploy\/bbb\.0\/usr\/bin\/kubeadm upgrade node$/,
    );
  });
});

describe('obeying only what an Update asks for', () => {
  const EVIL = 'attacker.example/nestos:rootkit';

  it('refuses a target whose OS image is not the one its Update asks for, before touching the node', async () => {
    const w = world({ controlPlane: true });
    w.handOut(target({ osImageURL: NEW }));
    w.kube.setTarget(NODE, target({ osImageURL: EVIL }));
    expect(await w.agent().step()).toBe('failed');
    expect(w.kube.progress(NODE)?.lastError).toBe(
      `refused the target: it asks for osImageURL "${EVIL}" (the Update says "${NEW}")`,
    );
    expect(w.host.commands).toEqual([STATUS, CAT]);
    expect(w.kube.node(NODE).spec?.unschedulable).toBeUndefined();
  });

  it('refuses a target naming an Update that does not exist, or a later generation than it has', async () => {
    const missing = world();
    missing.kube.setTarget(NODE, target({ osImageURL: NEW }));
    expect(await missing.agent().step()).toBe('failed');
    expect(missing.kube.progress(NODE)?.lastError).toBe(
      'refused the target: Update housekeeper-system/up does not exist',
    );

    const ahead = world();
    ahead.handOut(target({ osImageURL: NEW }));
    ahead.kube.setTarget(NODE, target({ osImageURL: NEW, key: 'housekeeper-system/up@9' }));
    expect(await ahead.agent().step()).toBe('failed');
    expect(ahead.kube.progress(NODE)?.lastError).toMatch(
      /generation 9 of Update housekeeper-system\/up, which is at 1/,
    );
  });

  it('refuses kubeadm upgrade apply on a node that is no control plane', async () => {
    const w = world({}, { kubeadmVersion: 'v1.30.4' });
    w.handOut(target({ kubeVersion: 'v1.30.4', firstControlPlane: true }));
    expect(await w.agent().step()).toBe('failed');
    expect(w.host.commands).not.toContain('kubeadm upgrade apply v1.30.4 --yes');
  });

  it('waits, writing nothing, on a target of an older generation that asked for something else', async () => {
    const w = world();
    w.handOut(target({ osImageURL: NEW }));
    w.kube.updates.set(
      'housekeeper-system/up',
      updateFor(target({ osImageURL: 'hub.example/nestos:newer' }), 2),
    );
    expect(await w.agent().step()).toBe('idle');
    expect(w.kube.progress(NODE)).toBeUndefined();
    expect(w.logs.some((l) => l.includes('is stale'))).toBe(true);
  });

  it('goes on with an older generation that asks for the same (a pause or maxUnavailable edit)', async () => {
    const w = world();
    w.handOut(target({ osImageURL: NEW }));
    w.kube.updates.set('housekeeper-system/up', updateFor(target({ osImageURL: NEW }), 2));
    expect(await w.agent().step()).toBe('rebooting');
  });
});

describe("a host command's reason", () => {
  it("is kubeadm's error line, not the stack-trace advice kubeadm prints after it", () => {
    const stderr =
      "[upgrade/apply] FATAL: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state.\n" +
      'error execution phase control-plane: failed to upgrade the etcd static pod: timed out waiting for the condition\n' +
      'To see the stack trace of this error execute with --v=5 or higher\n';
    expect(failureReason(stderr)).toBe(
      'error execution phase control-plane: failed to upgrade the etcd static pod: timed out waiting for the condition',
    );
    expect(failureReason('error: rebase failed\n\n')).toBe('error: rebase failed');
    expect(failureReason('To see the stack trace of this error execute with --v=5 or higher\n')).toBe('');
  });

  it("names each check kubeadm's preflight failed, after its summary line", () => {
    // kubeadm v1.37's upgrade health check, as the first real upgrade printed it.
    const stderr =
      '[upgrade] Running cluster health checks\n' +
      '\t[WARNING SystemVerification]: missing optional cgroups: hugetlb\n' +
      '[preflight] Some fatal errors occurred:\n' +
      '\t[ERROR CreateJob]: Job "upgrade-health-check-1" in the namespace "kube-system" did not complete in 1m0s: no condition of type Complete\n' +
      '\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [cp-1]\n' +
      '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n' +
      'error execution phase preflight: preflight checks failed\n' +
      'To see the stack trace of this error execute with --v=5 or higher\n';
    expect(failureReason(stderr)).toBe(
      'error execution phase preflight: preflight checks failed; ' +
        '[ERROR CreateJob]: Job "upgrade-health-check-1" in the namespace "kube-system" did not complete in 1m0s: no condition of type Complete; ' +
        '[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [cp-1]',
    );
  });

  it('stays a status line when a command prints a great many errors', () => {
    const stderr =
      Array.from({ length: 200 }, (_, i) => `\t[ERROR Check${i}]: failed`).join('\n') + '\nfailed\n';
    const reason = failureReason(stderr);
    expect(reason.length).toBeLessThanOrEqual(1500);
    expect(reason.startsWith('failed; [ERROR Check0]: failed')).toBe(true);
  });
});
