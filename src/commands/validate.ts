import { Flags } from '@oclif/core';
import { NkdCommand } from '../cli/base.js';
import { configDisplayName, formatProblem, loadClusterConfig, type ConfigProblem } from '../config/load.js';
import { ExitCode, NkdError } from '../errors.js';

export default class Validate extends NkdCommand {
  static override summary = 'Check a cluster config without touching anything.';
  static override description =
    'Reports every problem at once, one line each as FILE:LINE:COL: key.path: message. Exit 0 when valid (warnings go to stderr), 3 when not.';
  static override examples = [
    '<%= config.bin %> validate -f cluster.yaml',
    '<%= config.bin %> validate -f cluster.yaml --json | jq .errors',
    '<%= config.bin %> template | <%= config.bin %> validate -f -',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    file: Flags.string({ char: 'f', description: 'Cluster config file (- reads stdin)', required: true }),
  };

  async run(): Promise<{ valid: boolean; errors: ConfigProblem[]; warnings: ConfigProblem[] }> {
    const { flags } = await this.parse(Validate);
    const parsed = await loadClusterConfig(flags.file);
    const valid = parsed.config !== undefined && parsed.errors.length === 0;
    const result = { valid, errors: parsed.errors, warnings: parsed.warnings };
    if (this.jsonEnabled()) {
      if (!valid) {
        this.logJson(result);
        process.exitCode = ExitCode.InvalidConfig;
        this.exit(ExitCode.InvalidConfig);
      }
      return result;
    }
    for (const w of parsed.warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
    if (!valid) {
      const n = parsed.errors.length;
      throw new NkdError(
        `${configDisplayName(flags.file)} is invalid (${n} problem${n === 1 ? '' : 's'})`,
        ExitCode.InvalidConfig,
        parsed.errors.map(formatProblem),
      );
    }
    this.out(`${configDisplayName(flags.file)} is valid`);
    return result;
  }
}
