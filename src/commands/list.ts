import { NkdCommand } from '../cli/base.js';
import { listClusters, type ClusterSummary } from '../workflows/list-clusters.js';

export default class List extends NkdCommand {
  static override summary =
    'List the clusters in the state directory (alias: ls): platform, nodes, last phase.';
  static override description = [
    "Reads each cluster's state alone (nothing is contacted): its platform and node counts from the plan, whether machines were provisioned, and the last deploy phase that finished, with when. `rendered` means only a dry-run (or a deploy that stopped before its first phase).",
    'A cluster whose state files are damaged is listed with the problem. Exit 0, also when there are no clusters.',
  ].join('\n\n');
  static override hiddenAliases = ['ls'];
  static override examples = [
    '<%= config.bin %> list',
    '<%= config.bin %> ls --state-dir /srv/nkd',
    '<%= config.bin %> list --json | jq -r ".clusters[].name"',
  ];
  static override enableJsonFlag = true;

  async run(): Promise<{ stateDir: string; clusters: ClusterSummary[] }> {
    const { flags } = await this.parse(List);
    const stateDir = this.stateDir(flags);
    const clusters = listClusters(stateDir);
    this.debugLog.debug(`list: ${clusters.length} cluster(s) in ${stateDir}`);
    if (!this.jsonEnabled()) this.out(formatList(stateDir, clusters).join('\n'));
    return { stateDir, clusters };
  }
}

export function formatList(stateDir: string, clusters: readonly ClusterSummary[]): string[] {
  if (clusters.length === 0) return [`No clusters in ${stateDir}.`];
  const rows = [['NAME', 'PLATFORM', 'NODES', 'PROVISIONED', 'LAST PHASE', 'WHEN']];
  for (const c of clusters) {
    const nodes = c.controlPlane === null ? '-' : `${c.controlPlane} cp + ${c.workers} workers`;
    rows.push([
      c.name,
      c.platform ?? '-',
      nodes,
      c.provisioned ? 'yes' : 'no',
      c.problem ? `damaged: ${c.problem}` : (c.lastPhase ?? '-'),
      c.at ? c.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
