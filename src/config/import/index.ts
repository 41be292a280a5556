// `nkd config import` without the I/O: the original's text in, the nkd config text out, checked by
// nkd's own parser. A conversion that does not validate is never returned as a result: problems nkd
// finds in values taken from the original are the original's (exit 3), anything else is a bug here.
import { Document } from 'yaml';
import { parseClusterConfig, type ConfigProblem } from '../load.js';
import { originOf, type ConvertOptions } from './context.js';
import { convertOriginal } from './convert.js';
import { readOriginal, type ImportProblem } from './original.js';

export type { ImportProblem } from './original.js';
export type { ConvertOptions } from './context.js';

export interface ImportOptions extends ConvertOptions {
  /** How the imported file is named in messages and in the header comment. */
  source: string;
}

export type ImportResult =
  | { ok: true; text: string; warnings: ImportProblem[] }
  | { ok: false; internal: boolean; errors: ImportProblem[]; warnings: ImportProblem[] };

export function importOriginal(sourceText: string, options: ImportOptions): ImportResult {
  const read = readOriginal(sourceText);
  if (read.original === undefined) return failure(read.problems, false);
  const converted = convertOriginal(read.original, options);
  const problems = [...read.problems, ...converted.problems];
  if (converted.config === undefined) return failure(problems, false);

  const body = render(converted.config, []);
  const checked = parseClusterConfig(body, '<converted>');
  const warnings = problems.filter((p) => p.severity === 'warning');
  const warned = new Set(warnings.map((w) => w.path));
  for (const w of checked.warnings) {
    const origin = originOf(converted.provenance, w.path);
    // The converter already said it (e.g. the missing SSH key): one line per problem is enough.
    if (origin !== undefined && warned.has(origin)) continue;
    warnings.push({ path: origin ?? w.path, message: w.message, severity: 'warning' });
  }
  if (checked.errors.length > 0 || checked.config === undefined) {
    const errors = checked.errors.map((e) => located(e, converted.provenance));
    const internal = errors.length === 0 || errors.some((e) => e.internal);
    return failure([...warnings, ...errors.map(({ internal: _, ...problem }) => problem)], internal);
  }
  const text = render(converted.config, header(options.source, warnings));
  // The header is comments only; checking the final text anyway keeps the guarantee literal.
  const final = parseClusterConfig(text, '<converted>');
  if (final.errors.length > 0) {
    const errors = final.errors.map((e) => ({
      path: e.path,
      message: e.message,
      severity: 'error' as const,
    }));
    return failure([...warnings, ...errors], true);
  }
  return { ok: true, text, warnings };
}

function failure(problems: ImportProblem[], internal: boolean): ImportResult {
  return {
    ok: false,
    internal,
    errors: problems.filter((p) => p.severity === 'error'),
    warnings: problems.filter((p) => p.severity === 'warning'),
  };
}

function located(
  problem: ConfigProblem,
  provenance: ReadonlyMap<string, string>,
): ImportProblem & { internal: boolean } {
  const origin = originOf(provenance, problem.path);
  if (origin === undefined) {
    return {
      path: problem.path,
      message: `${problem.message} (in the converted config)`,
      severity: 'error',
      internal: true,
    };
  }
  return {
    path: origin,
    message: `${problem.message} (as nkd's ${problem.path})`,
    severity: 'error',
    internal: false,
  };
}

function header(source: string, warnings: readonly ImportProblem[]): string[] {
  const lines = [
    `Converted by \`nkd config import\` from the NKD config ${source}.`,
    'Review it, then check it with: nkd validate -f <this file>',
  ];
  if (warnings.length > 0) {
    lines.push('Import notes (keys of the original file):');
    for (const w of warnings) lines.push(`  ${w.path}: ${w.message}`);
  }
  return lines;
}

function render(config: Record<string, unknown>, comment: readonly string[]): string {
  const doc = new Document(config);
  if (comment.length > 0) doc.commentBefore = comment.map((line) => ` ${line}`).join('\n');
  // No folding: SSH keys and long image references must stay on one line to stay readable and greppable.
  return doc.toString({ lineWidth: 0 });
}
