// Parses and validates a cluster config: YAML syntax, inline secrets, schema, then cross-field
// semantics. Every problem comes back at once, each tied to FILE:LINE:COL and a key path.
import { dirname, resolve } from 'node:path';
import { fileReferenceChecks, type ConfigFileChecks } from './file-checks.js';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { core } from 'zod';
import { ExitCode, NkdError } from '../errors.js';
import { formatKeyPath, locate, type KeyPath } from './locate.js';
import type { Problem, Severity } from './problems.js';
import { clusterConfigSchema, type ClusterConfig } from './schema.js';
import { findInlineSecrets, isSecretKey } from './secrets.js';
import { checkSemantics } from './semantic.js';

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
  severity: Severity;
}

export interface ParsedConfig {
  config: ClusterConfig | undefined;
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path}: ${p.message}`;
}

/** Pure: text in, validated config (or problems) out. */
export function parseClusterConfig(text: string, file: string, fileChecks?: ConfigFileChecks): ParsedConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const at = (p: Problem): ConfigProblem => {
    const pos = locate(doc, counter, p.path, p.keyOf);
    const path = formatKeyPath(p.keyOf === undefined ? p.path : [...p.path, p.keyOf]);
    return { file, line: pos.line, col: pos.col, path, message: p.message, severity: p.severity };
  };
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => {
      const pos = counter.linePos(e.pos[0]);
      return {
        file,
        line: pos.line,
        col: pos.col,
        path: '(yaml)',
        message: firstLine(e.message),
        severity: 'error' as const,
      };
    });
    return { config: undefined, errors, warnings: [] };
  }
  if (doc.contents === null) {
    return result(
      [
        {
          path: [],
          message: 'the file is empty; expected a Cluster config (`nkd template` prints one)',
          severity: 'error',
        },
      ],
      at,
    );
  }
  const secrets = findInlineSecrets(doc.contents);
  const raw: unknown = doc.toJS();
  const parsed = clusterConfigSchema.safeParse(raw, { reportInput: true });
  if (parsed.success && secrets.length === 0) {
    const problems = [...checkSemantics(parsed.data), ...(fileChecks?.(parsed.data) ?? [])];
    return { ...result(problems, at), config: parsed.data };
  }
  const schemaProblems = parsed.success ? [] : parsed.error.issues.flatMap(issueToProblems);
  const problems = [...secrets, ...schemaProblems];
  return result([...problems, ...bestEffortSemantics(raw, problems)], at);
}

/**
 * Reports cross-field problems even when some values are invalid: the invalid values are dropped
 * (defaults take their place) and the checks run on what is left. Problems at a key already reported
 * are skipped, so one mistake never shows up twice.
 */
function bestEffortSemantics(raw: unknown, problems: Problem[]): Problem[] {
  const pruned = structuredClone(raw);
  for (const p of problems) deleteAt(pruned, p.keyOf === undefined ? p.path : [...p.path, p.keyOf]);
  const retry = clusterConfigSchema.safeParse(pruned);
  if (!retry.success) return [];
  const reported = problems.map((p) => formatKeyPath(p.keyOf === undefined ? p.path : [...p.path, p.keyOf]));
  return checkSemantics(retry.data).filter((s) => {
    const path = formatKeyPath(s.path);
    return !reported.some(
      (r) => path === r || path.startsWith(`${r}.`) || path.startsWith(`${r}[`) || r.startsWith(`${path}.`),
    );
  });
}

function deleteAt(root: unknown, path: KeyPath): void {
  if (path.length === 0) return;
  let node = root as Record<string | number, unknown> | undefined;
  for (const part of path.slice(0, -1)) {
    const next = node?.[part];
    if (typeof next !== 'object' || next === null) return;
    node = next as Record<string | number, unknown>;
  }
  if (node && typeof node === 'object') delete node[path[path.length - 1]!];
}

function result(problems: Problem[], at: (p: Problem) => ConfigProblem): ParsedConfig {
  const located = problems.map(at).sort((a, b) => a.line - b.line || a.col - b.col);
  const errors = located.filter((p) => p.severity === 'error');
  return { config: undefined, errors, warnings: located.filter((p) => p.severity === 'warning') };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

function issueToProblems(issue: core.$ZodIssue): Problem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  switch (issue.code) {
    case 'unrecognized_keys':
      // Secret-looking keys were already reported with a better message.
      return issue.keys
        .filter((key) => !isSecretKey(key))
        .map((key) => ({
          path,
          keyOf: key,
          severity: 'error',
          message: `unknown key "${key}"${suggestion(key)}`,
        }));
    case 'invalid_type':
      if (issue.input === undefined) return [{ path, severity: 'error', message: 'is required' }];
      if (issue.input === null && issue.expected === 'object') {
        return [{ path, severity: 'error', message: 'is empty; it needs its keys (see `nkd template`)' }];
      }
      return [
        {
          path,
          severity: 'error',
          message: `must be ${article(issue.expected)}, not ${describe(issue.input)}`,
        },
      ];
    case 'invalid_value':
      if (issue.values.length > 1) {
        return [
          { path, severity: 'error', message: `must be one of: ${issue.values.map(String).join(', ')}` },
        ];
      }
      return [{ path, severity: 'error', message: issue.message }];
    case 'invalid_union':
      return [
        {
          path,
          severity: 'error',
          message: 'must be a flavor name or { controlPlane: NAME, workers: NAME }',
        },
      ];
    case 'too_small':
    case 'too_big':
      return [
        {
          path,
          severity: 'error',
          message: issue.message.replace(/^Too (small|big): expected number to be /, 'must be '),
        },
      ];
    default:
      return [{ path, severity: 'error', message: issue.message }];
  }
}

const KNOWN_TYPOS: Record<string, string> = {
  controlplane: 'controlPlane',
  worker: 'workers',
  master: 'controlPlane',
  masters: 'controlPlane',
  memory: 'memoryMiB',
  disk: 'diskGiB',
  cpu: 'cpus',
  sshKeys: 'sshAuthorizedKeys',
};

function suggestion(key: string): string {
  const hit = KNOWN_TYPOS[key] ?? KNOWN_TYPOS[key.toLowerCase()];
  return hit ? ` (did you mean "${hit}"?)` : '';
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Reads and validates a config file; a missing or unreadable file is a usage error. */
export async function loadClusterConfig(file: string): Promise<ParsedConfig> {
  if (file === '-') {
    return parseClusterConfig(await readStdin(), configDisplayName(file), fileReferenceChecks(process.cwd()));
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : String((cause as Error).message);
    throw new NkdError(`cannot read config ${file}: ${why}`, ExitCode.Usage);
  }
  return parseClusterConfig(text, file, fileReferenceChecks(dirname(resolve(file))));
}

/** How a config file is named in messages: `-` is stdin. */
export function configDisplayName(file: string): string {
  return file === '-' ? '<stdin>' : file;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new NkdError('-f - reads the config from stdin, but stdin is a terminal', ExitCode.Usage);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
