import { writeFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { NkdCommand } from '../cli/base.js';
import { PLATFORM_NAMES } from '../config/platform.js';
import { clusterTemplate } from '../config/template.js';
import { ExitCode, NkdError } from '../errors.js';

export default class Template extends NkdCommand {
  // Works on no cluster state: no --state-dir to list (and ignore).
  // Typed as the base's so the shared parse types hold; at run time the command has no --state-dir.
  static override baseFlags = {} as typeof NkdCommand.baseFlags;
  static override summary = 'Print a commented, valid cluster config to start from.';
  static override examples = [
    '<%= config.bin %> template > cluster.yaml',
    '<%= config.bin %> template --platform openstack -o cluster.yaml',
    '<%= config.bin %> template --json | jq -r .config',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    platform: Flags.string({
      description: 'Platform section to include',
      options: [...PLATFORM_NAMES],
      default: 'libvirt',
    }),
    output: Flags.string({
      char: 'o',
      description: 'Write to this file instead of stdout (refuses to overwrite)',
    }),
    force: Flags.boolean({ description: 'Overwrite the --output file if it exists' }),
  };

  async run(): Promise<{ platform: string; output: string | null; config: string }> {
    const { flags } = await this.parse(Template);
    const text = clusterTemplate(flags.platform as (typeof PLATFORM_NAMES)[number]);
    const result = { platform: flags.platform, output: flags.output ?? null, config: text };
    if (flags.output === undefined) {
      if (!this.jsonEnabled()) this.out(text);
      return result;
    }
    try {
      // 'wx' fails if the file exists, atomically: no window between a check and the write.
      await writeFile(flags.output, text, { flag: flags.force ? 'w' : 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new NkdError(`${flags.output} already exists; use --force to overwrite it`, ExitCode.Usage);
      }
      throw new NkdError(`cannot write ${flags.output}: ${(err as Error).message}`, ExitCode.Usage);
    }
    if (!this.jsonEnabled()) process.stderr.write(`Wrote ${flags.output}\n`);
    return result;
  }
}
