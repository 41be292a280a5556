import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { NkdCommand } from '../../cli/base.js';
import { importOriginal, type ImportProblem } from '../../config/import/index.js';
import { locateImportProblems } from '../../config/import/locate-original.js';
import { ExitCode, NkdError } from '../../errors.js';

/** A public key file is a few hundred bytes; anything this large is not one and is not read. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export default class ConfigImport extends NkdCommand {
  static override summary = 'Convert a cluster_config.yaml of the original NKD into an nkd cluster config.';
  static override description = [
    'Maps every key nkd supports and reports every other one as `warning: FILE:LINE:COL: key: message` (like `nkd validate`), saying where it belongs instead. Secrets (the node password hash, the bootstrap token, the certificate key, OpenStack credentials) are never carried over: nkd generates cluster secrets itself, and OpenStack credentials go into clouds.yaml or OS_* variables.',
    'The result is checked with the same parser as `nkd validate` before it is printed or written. Exit codes: 0 converted, 2 unreadable input or --output exists, 3 the original uses something nkd does not support (pxe/ipxe, generalos, arm64) or a value nkd rejects, 1 the conversion itself failed (a bug).',
    'See docs/migrating-from-nkd.md for the whole mapping.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> config import /etc/nkd/cluster/cluster_config.yaml > cluster.yaml',
    '<%= config.bin %> config import cluster_config.yaml -o cluster.yaml',
    '<%= config.bin %> config import cluster_config.yaml --json | jq .warnings',
  ];
  static override enableJsonFlag = true;
  static override args = {
    file: Args.string({ description: "The original NKD's cluster_config.yaml", required: true }),
  };
  static override flags = {
    output: Flags.string({
      char: 'o',
      description: 'Write to this file instead of stdout (refuses to overwrite)',
    }),
    force: Flags.boolean({ description: 'Overwrite the --output file if it exists' }),
  };

  async run(): Promise<{ source: string; output: string | null; config: string; warnings: object[] }> {
    const { args, flags } = await this.parse(ConfigImport);
    const source = args.file;
    // Checked before converting, so a refusal is the only thing printed; 'wx' below closes the race.
    if (flags.output !== undefined && !flags.force && existsSync(flags.output)) {
      throw new NkdError(`${flags.output} already exists; use --force to overwrite it`, ExitCode.Usage);
    }
    const text = await readSource(source);
    const sourceDir = dirname(resolve(source));
    const result = importOriginal(text, {
      source,
      sourceDir,
      outputDir: flags.output === undefined ? sourceDir : dirname(resolve(flags.output)),
      readFile: readKeyFile,
    });
    // Problems point into the original file, as FILE:LINE:COL like validate's.
    const errors = result.ok ? [] : locateImportProblems(text, result.errors);
    const warnings = locateImportProblems(text, result.warnings);
    const where = (p: ImportProblem) => `${source}:${p.line ?? 1}:${p.col ?? 1}: ${p.path}: ${p.message}`;
    const asJson = (p: ImportProblem) => ({
      file: source,
      line: p.line ?? 1,
      col: p.col ?? 1,
      path: p.path,
      message: p.message,
    });
    if (!result.ok) {
      // Only the errors are printed: they are what stops the import (--json lists the warnings too).
      const n = errors.length;
      const what = result.internal
        ? `internal error: the config converted from ${source} does not validate; nothing was written`
        : `cannot import ${source} (${n} problem${n === 1 ? '' : 's'})`;
      throw new NkdError(
        what,
        result.internal ? ExitCode.Internal : ExitCode.InvalidConfig,
        errors.map(where),
        [...errors, ...warnings].map((p) => ({ ...asJson(p), severity: p.severity })),
      );
    }
    if (!this.jsonEnabled()) {
      for (const w of warnings) process.stderr.write(`warning: ${where(w)}\n`);
    }
    const output = {
      source,
      output: flags.output ?? null,
      config: result.text,
      warnings: warnings.map(asJson),
    };
    if (flags.output === undefined) {
      if (!this.jsonEnabled()) this.out(result.text);
      return output;
    }
    try {
      await writeFile(flags.output, result.text, { flag: flags.force ? 'w' : 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new NkdError(`${flags.output} already exists; use --force to overwrite it`, ExitCode.Usage);
      }
      throw new NkdError(`cannot write ${flags.output}: ${(err as Error).message}`, ExitCode.Usage);
    }
    if (!this.jsonEnabled()) process.stderr.write(`Wrote ${flags.output}\n`);
    return output;
  }
}

async function readSource(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (cause as Error).message;
    throw new NkdError(`cannot read ${file}: ${why}`, ExitCode.Usage);
  }
}

function readKeyFile(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_KEY_FILE_BYTES) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
