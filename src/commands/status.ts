import { clusterNameArg } from '../cli/args.js';
import { NkdCommand } from '../cli/base.js';
import { durationFlag } from '../cli/duration.js';
import { gatherClusterStatus, type ClusterStatus, type NodeStatus } from '../cluster/status.js';
import { clusterPaths } from '../state/paths.js';
import { currentVersions, type CurrentVersions } from '../plan/upgrades.js';
import { adminClientFor, provisionedClusterAccess, type ApiTarget } from '../workflows/cluster-access.js';
import { readUpgradeHistory, reconcileUpgrades } from '../workflows/upgrade-record.js';

export default class Status extends NkdCommand {
  static override summary = "Report a cluster's health: API server, nodes, Housekeeper, certificate expiry.";
  static override description =
    "Works from the cluster's state alone (plan, PKI, provider outputs) and talks to the API server with nkd's admin certificate, verifying the server against the cluster CA. Each part is reported on its own: an unreachable API server still gives the local certificate dates. Exit 0 whenever a report was made, healthy or not: scripts read `healthy` and `api.ready` from --json. Exit 4 when the cluster has no state or was never provisioned (only rendered by deploy --dry-run: then nothing is contacted). See docs/status.md.";
  static override examples = [
    '<%= config.bin %> status demo',
    '<%= config.bin %> status demo --json | jq .healthy',
    '<%= config.bin %> status demo --request-timeout 3s',
  ];
  static override enableJsonFlag = true;
  static override args = { name: clusterNameArg({ required: true }) };
  static override flags = {
    'request-timeout': durationFlag({ description: 'How long to wait for each API request', default: '10s' }),
  };

  async run(): Promise<ClusterStatus & { upgrades: CurrentVersions }> {
    const { args, flags } = await this.parse(Status);
    const stateDir = this.stateDir(flags);
    const paths = clusterPaths(stateDir, args.name);
    // A cluster only rendered (deploy --dry-run) has no machines: nothing to contact.
    const { plan, pki, target } = await provisionedClusterAccess(paths);
    const client = adminClientFor(pki, target, flags['request-timeout']);
    let status: ClusterStatus;
    let upgrades: CurrentVersions = {};
    try {
      status = await gatherClusterStatus(client, { plan, pki });
      // The record of completed upgrades, with those the cluster completed since (best effort).
      try {
        upgrades = currentVersions(
          await reconcileUpgrades(paths, client).catch(() => readUpgradeHistory(paths)),
        );
      } catch (err) {
        status.warnings.push(err instanceof Error ? err.message : String(err));
      }
    } finally {
      client.close();
    }
    this.debugLog.debug(
      `status of ${args.name}: healthy=${status.healthy} api=${status.api.error ?? 'ready'} warnings=${status.warnings.length}`,
    );
    if (!this.jsonEnabled()) this.out(formatStatus(status, target, upgrades).join('\n'));
    return { ...status, upgrades };
  }
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}

function nodeState(n: NodeStatus): string {
  if (!n.registered) return 'not registered';
  if (n.ready) return 'Ready';
  return `NotReady${n.notReadyReason ? ` (${n.notReadyReason})` : ''}`;
}

/** The human report: one section per part, then warnings. */
export function formatStatus(
  status: ClusterStatus,
  target: ApiTarget,
  upgrades: CurrentVersions = {},
): string[] {
  const lines: string[] = [];
  lines.push(`Cluster ${status.cluster}: ${status.healthy ? 'healthy' : 'NOT healthy'}`);
  const verified = target.tlsServerName ? ` (verified as ${target.tlsServerName})` : '';
  const { api } = status;
  // Errors start with the server's URL, which the line already shows.
  const bare = (error: string | null): string => (error ?? '').replace(`${status.server}: `, '');
  const apiState = api.ready ? 'ready' : `${api.reachable ? 'not ready' : 'unreachable'}: ${bare(api.error)}`;
  lines.push(`API server   ${status.server}${verified}: ${apiState}`);

  const { nodes } = status;
  if (!nodes.listed) {
    lines.push(`Nodes        ${nodes.error}`);
  } else {
    const ready = nodes.items.filter((n) => n.ready).length;
    lines.push(`Nodes        ${ready}/${nodes.items.length} Ready`);
    const rows = [['NAME', 'ROLES', 'STATUS', 'VERSION', 'OS IMAGE']];
    for (const n of nodes.items) {
      const name = n.planned ? n.name : `${n.name} (not in the plan)`;
      rows.push([name, n.roles.join(',') || '-', nodeState(n), n.kubeletVersion || '-', n.osImage || '-']);
    }
    if (nodes.items.length > 0) lines.push(...table(rows));
  }

  const hk = status.housekeeper;
  const disabled = hk.enabled ? '' : ' (disabled in the config)';
  if (hk.state === 'unknown') lines.push(`Housekeeper  unknown: ${hk.error}`);
  else if (hk.state === 'not-installed') lines.push(`Housekeeper  not installed${disabled}`);
  else {
    const part = (w: typeof hk.operator, what: string): string =>
      `${what} ${w ? `${w.ready ? 'ready' : 'not ready'} (${w.summary})` : 'unknown'}`;
    lines.push(`Housekeeper  ${part(hk.operator, 'operator')}; ${part(hk.agent, 'agent')}`);
  }
  if (hk.updates && hk.updates.length > 0) {
    for (const u of hk.updates) {
      const to = [u.kubeVersion, u.osImageURL].filter(Boolean).join(', ');
      lines.push(`  Update ${u.namespace}/${u.name}: ${u.phase ?? 'no phase yet'}${to ? ` (to ${to})` : ''}`);
    }
  } else if (hk.updates && hk.state === 'installed') {
    lines.push('  no Update objects');
  } else if (hk.updatesError && hk.state !== 'unknown') {
    lines.push(`  Update objects could not be listed: ${hk.updatesError}`);
  }

  lines.push(...upgradeLines(upgrades));
  lines.push('Certificates');
  const certRows = [['CERTIFICATE', 'EXPIRES', 'DAYS LEFT']];
  const dated = [...status.certificates];
  if (api.servingCertificate) {
    dated.push({ ...api.servingCertificate, name: 'API server serving certificate' });
  }
  for (const c of dated) certRows.push([c.name, c.notAfter.slice(0, 10), String(c.daysLeft)]);
  lines.push(...table(certRows));
  if (!api.servingCertificate && api.servingCertificateError) {
    lines.push(`  API server serving certificate: not read (${bare(api.servingCertificateError)})`);
  }
  for (const w of status.warnings) lines.push(`warning: ${w}`);
  return lines;
}

/** What nkd recorded of completed upgrades: the versions nodes added later boot on. */
function upgradeLines(upgrades: CurrentVersions): string[] {
  const parts = [
    upgrades.kubernetes &&
      `Kubernetes ${upgrades.kubernetes.version} (Update ${upgrades.kubernetes.update}, ${upgrades.kubernetes.completedAt})`,
    upgrades.os && `OS image ${upgrades.os.image} (Update ${upgrades.os.update}, ${upgrades.os.completedAt})`,
  ].filter(Boolean);
  return parts.length > 0 ? [`Upgraded     ${parts.join('; ')}`] : [];
}
