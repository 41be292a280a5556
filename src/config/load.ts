// Parses and validates a cluster config: YAML syntax, inline secrets, schema, then cross-field
// semantics. Every problem comes back at once, each tied to FILE:LINE:COL and a key path.
import { dirname, resolve } from 'node:path';
import { fileReferenceChecks, type ConfigFileChecks } from './file-checks.js';
import { LineCounter, parseDocument, visit } from 'yaml';
import type { core } from 'zod';
import { ExitCode, NkdError } from '../errors.js';
import { capJson, capValue } from '../lib/cap.js';
import { formatKeyPath, locate, type KeyPath } from './locate.js';
import { readConfigFile, readConfigStdin } from './read-bounded.js';
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

const MAX_YAML_ERRORS = 10;

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
    // A binary file makes hundreds of syntax errors: the first few say all there is to say.
    const shown = doc.errors.slice(0, MAX_YAML_ERRORS);
    const errors = shown.map((e) => {
      const pos = counter.linePos(e.pos[0]);
      return {
        file,
        line: pos.line,
        col: pos.col,
        path: '(yaml)',
        message: yamlMessage(e.code, firstLine(e.message)),
        severity: 'error' as const,
      };
    });
    const more = doc.errors.length - shown.length;
    if (more > 0) {
      const last = errors[errors.length - 1]!;
      errors.push({ ...last, message: `and ${more} more YAML syntax errors (is this a YAML file?)` });
    }
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
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // The yaml library refuses to expand aliases past a bound (an "alias bomb"): an invalid config.
    if (!(err instanceof ReferenceError)) throw err;
    const pos = counter.linePos(firstAliasOffset(doc));
    const message = `too many alias expansions (*name) for a cluster config; write the values out instead`;
    const problem = {
      file,
      line: pos.line,
      col: pos.col,
      path: '(yaml)',
      message,
      severity: 'error' as const,
    };
    return { config: undefined, errors: [problem], warnings: [] };
  }
  // !!binary values become byte arrays, which a schema would take for objects: nothing here is binary.
  const binary = findBinary(raw, []);
  if (binary.length > 0) {
    const problems = binary.map((path) => ({
      path,
      severity: 'error' as const,
      message: 'is binary data (!!binary); a cluster config holds text',
    }));
    return result(problems, at);
  }
  const parsed = clusterConfigSchema.safeParse(raw, { reportInput: true });
  if (parsed.success && secrets.length === 0) {
    const problems = [...checkSemantics(parsed.data, raw), ...(fileChecks?.(parsed.data) ?? [])];
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
  return checkSemantics(retry.data, pruned).filter((s) => {
    const path = formatKeyPath(s.path);
    return !reported.some(
      (r) => path === r || path.startsWith(`${r}.`) || path.startsWith(`${r}[`) || r.startsWith(`${path}.`),
    );
  });
}

function findBinary(value: unknown, path: (string | number)[]): KeyPath[] {
  if (ArrayBuffer.isView(value)) return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => findBinary(v, [...path, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => findBinary(v, [...path, k]));
  return [];
}

function deleteAt(root: unknown, path: KeyPath): void {
  if (path.length === 0) return;
  let node = root as Record<string | number, unknown> | undefined;
  for (const part of path.slice(0, -1)) {
    const next = node?.[part];
    if (typeof next !== 'object' || next === null) return;
    node = next as Record<string | number, unknown>;
  }
  // Typed arrays (YAML !!binary) have no deletable elements: nothing to prune there.
  if (node && typeof node === 'object' && !ArrayBuffer.isView(node)) delete node[path[path.length - 1]!];
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
          message: `unknown key "${capValue(key)}"${suggestion(key)}`,
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
      return [{ path, severity: 'error', message: boundMessage(issue) }];
    case 'invalid_format':
      // Schema regexes carry their own message; a default one would show the pattern.
      return [
        {
          path,
          severity: 'error',
          message: issue.message.startsWith('Invalid') ? 'is not in the expected format' : issue.message,
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
  // Own entries only: a key like "toString" must not find Object.prototype's.
  const own = (k: string) => (Object.hasOwn(KNOWN_TYPOS, k) ? KNOWN_TYPOS[k] : undefined);
  const hit = own(key) ?? own(key.toLowerCase());
  return hit ? ` (did you mean "${hit}"?)` : '';
}

function article(type: string): string {
  if (type === 'int') return 'a whole number';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (ArrayBuffer.isView(value)) return 'binary data (!!binary)';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${capJson(value)}`;
}

/** A size bound in nkd's words; schema bounds with their own message keep it. */
function boundMessage(issue: core.$ZodIssueTooBig | core.$ZodIssueTooSmall): string {
  if (!issue.message.startsWith('Too ')) return issue.message;
  const big = issue.code === 'too_big';
  const limit = big ? (issue as core.$ZodIssueTooBig).maximum : (issue as core.$ZodIssueTooSmall).minimum;
  const bound = Number(limit);
  if (big && bound >= Number.MAX_SAFE_INTEGER) return 'is far too large';
  const exclusive = issue.inclusive === false;
  const relation = big ? (exclusive ? 'less than' : 'at most') : exclusive ? 'more than' : 'at least';
  switch (issue.origin) {
    case 'string':
      return big || bound > 1 ? `must be ${relation} ${bound} characters long` : 'must not be empty';
    case 'array':
    case 'set':
      return big || bound > 1 ? `must have ${relation} ${bound} items` : 'must not be empty';
    default:
      return `must be ${relation} ${bound}`;
  }
}

/** The yaml library's messages that name its API rather than the user's file. */
function yamlMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS')
    return 'the file holds several YAML documents (---); a cluster config is one document';
  return capValue(message, 120);
}

function firstAliasOffset(doc: ReturnType<typeof parseDocument>): number {
  let offset = 0;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/** Reads and validates a config file; a missing or unreadable file is a usage error. */
export async function loadClusterConfig(file: string): Promise<ParsedConfig> {
  if (file === '-') {
    return parseClusterConfig(await readStdin(), configDisplayName(file), fileReferenceChecks(process.cwd()));
  }
  const text = await readConfigFile(file);
  return parseClusterConfig(text, file, fileReferenceChecks(dirname(resolve(file))));
}

/** How a config file is named in messages: `-` is stdin. */
export function configDisplayName(file: string): string {
  return file === '-' ? '<stdin>' : file;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new NkdError('-f - reads the config from stdin, but stdin is a terminal', ExitCode.Usage);
  return readConfigStdin();
}
