/**
 * Helpers for tests that run the real, built `nkd` binary (`node bin/run.js`) as a subprocess.
 *
 * Nothing here builds anything: `npm test` runs `npm run build` first. If dist/ is missing the helpers
 * throw an error that says so instead of letting every test fail with a confusing oclif message.
 *
 * Every run gets an isolated environment: HOME and XDG_CACHE_HOME point into a temporary directory
 * (so the debug log fallback never touches the real home), and NKD_* variables from the developer's
 * shell are dropped unless a test passes them explicitly.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NKD_BIN = join(REPO_ROOT, 'bin', 'run.js');

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Variables added to the isolated environment; `undefined` removes one. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Text fed to stdin (stdin is otherwise closed). */
  input?: string;
  /** Milliseconds before the process is killed (default 30 s). */
  timeout?: number;
}

let builtChecked = false;

/** Throws a clear error when the CLI has not been built. */
export function assertBuilt(): void {
  if (builtChecked) return;
  const missing = [join(REPO_ROOT, 'dist', 'src', 'commands'), join(REPO_ROOT, 'oclif.manifest.json')].filter(
    (p) => !existsSync(p),
  );
  if (missing.length > 0) {
    throw new Error(
      `the nkd CLI is not built (missing ${missing.map((p) => relative(REPO_ROOT, p)).join(', ')}): ` +
        'run `npm run build` first (`npm test` does it for you)',
    );
  }
  builtChecked = true;
}

const tempDirs: string[] = [];
/** HOME of runs that do not choose one: a temporary directory shared by the test file. */
let defaultHome: string | undefined;

/** A fresh temporary directory, removed by removeTempDirs(). */
export function tempDir(prefix = 'nkd-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory made by tempDir() so far (call it from afterAll). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  defaultHome = undefined;
}

/**
 * Variables dropped from the parent's environment. NODE_ENV matters most: vitest sets it to "test", and
 * oclif then runs in development mode (ignores oclif.manifest.json and loads every command module), which
 * is not what users run and doubles the start-up time. NODE_EXTRA_CA_CERTS makes every start parse a CA
 * bundle (~70 ms) and nothing here talks TLS. The rest are set by vitest/vite or could change nkd's
 * behaviour (state dir, cache dir, debug output, colours).
 */
const DROPPED_ENV =
  /^(NKD_.*|OCLIF_.*|XDG_.*|VITEST.*|NODE_ENV|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|DEBUG|NO_COLOR|FORCE_TTY|TEST|DEV|PROD|MODE|SSR|BASE_URL)$/;

/** Environment of a run: the parent's, minus anything that could change nkd's behaviour. */
function isolatedEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(env)) if (DROPPED_ENV.test(key)) delete env[key];
  const home = extra.HOME ?? (defaultHome ??= tempDir('nkd-home-'));
  Object.assign(env, {
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    FORCE_COLOR: '0',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
  });
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * At most this many nkd processes at once per test file (NKD_TEST_CONCURRENCY, default: the CPU count).
 * Every run is CPU-bound (about 0.5 s of module loading), so running more at once only adds contention,
 * while concurrent tests keep the queue full.
 */
const MAX_RUNNING = Math.max(1, Number(process.env.NKD_TEST_CONCURRENCY) || availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** Runs `node bin/run.js ...args`; never rejects on a non-zero exit. */
export async function runNkd(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  assertBuilt();
  return withSlot(() => spawnNkd(args, options));
}

async function spawnNkd(args: readonly string[], options: RunOptions): Promise<RunResult> {
  const result = await execa(process.execPath, [NKD_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: isolatedEnv(options.env ?? {}),
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    timeout: options.timeout ?? 30_000,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  if (result.timedOut) throw new Error(`nkd ${args.join(' ')} timed out`);
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

/**
 * Starts `node bin/run.js ...args` in the same isolated environment as runNkd, without waiting: for
 * tests that signal the process (Ctrl-C). Never rejects on a non-zero exit or a signal.
 */
export function startNkd(args: readonly string[], options: RunOptions = {}) {
  assertBuilt();
  return execa(process.execPath, [NKD_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: isolatedEnv(options.env ?? {}),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: options.timeout ?? 60_000,
  });
}

/** A per-test world: its own HOME, cache and (not yet created) state directory. */
export interface Sandbox {
  root: string;
  home: string;
  cache: string;
  /** The state directory passed with --state-dir; it does not exist until nkd creates it. */
  state: string;
  env: Record<string, string>;
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

export function sandbox(): Sandbox {
  const root = tempDir('nkd-sandbox-');
  const home = join(root, 'home');
  const cache = join(root, 'cache');
  mkdirSync(home);
  const env = { HOME: home, XDG_CACHE_HOME: cache };
  return {
    root,
    home,
    cache,
    state: join(root, 'state'),
    env,
    run: (args, options = {}) =>
      runNkd(args, { ...options, env: { ...env, ...options.env }, cwd: options.cwd ?? root }),
  };
}

/** Writes a config file into `dir` and returns its absolute path. */
export function writeConfig(dir: string, yamlText: string, name = 'cluster.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, yamlText);
  return file;
}

export interface TreeEntry {
  /** Relative to the listed directory, with "/" separators. */
  path: string;
  type: 'dir' | 'file' | 'other';
  /** Permission bits (mode & 0o7777). */
  mode: number;
}

/** Every entry below `dir`, sorted; empty when `dir` does not exist. */
export function statTree(dir: string): TreeEntry[] {
  if (!existsSync(dir)) return [];
  const out: TreeEntry[] = [];
  // Entries may vanish while a running nkd renames its temp files: those are skipped.
  const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
  const walk = (current: string): void => {
    let names: string[];
    try {
      names = readdirSync(current).sort();
    } catch (err) {
      if (gone(err)) return;
      throw err;
    }
    for (const name of names) {
      const full = join(current, name);
      let st;
      try {
        st = lstatSync(full);
      } catch (err) {
        if (gone(err)) continue;
        throw err;
      }
      const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      out.push({ path: relative(dir, full).split('\\').join('/'), type, mode: st.mode & 0o7777 });
      if (type === 'dir') walk(full);
    }
  };
  walk(dir);
  return out;
}

/** Relative paths below `dir` (directories end with "/"), sorted; empty when `dir` does not exist. */
export function listTree(dir: string): string[] {
  return statTree(dir).map((e) => (e.type === 'dir' ? `${e.path}/` : e.path));
}

/** 1-based line of the `nth` line of `text` that contains `needle`; throws if there is none. */
export function lineOf(text: string, needle: string, nth = 1): number {
  const lines = text.split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(needle) && ++seen === nth) return i + 1;
  }
  throw new Error(`lineOf: occurrence ${nth} of ${JSON.stringify(needle)} not found`);
}

/** Replaces the single occurrence of `from`; throws unless `from` occurs exactly once. */
export function edit(text: string, from: string, to: string): string {
  const first = text.indexOf(from);
  if (first < 0 || text.indexOf(from, first + 1) >= 0) {
    throw new Error(`edit: ${JSON.stringify(from)} must occur exactly once (found ${first < 0 ? 0 : '2+'})`);
  }
  return text.slice(0, first) + to + text.slice(first + from.length);
}

export interface ProblemLine {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
  raw: string;
}

const PROBLEM_LINE = /^(.+?):(\d+):(\d+): (\S+): (.+)$/;

/**
 * The error lines `FILE:LINE:COL: key.path: message` of an output, in output order; other lines,
 * including warnings (`warning: FILE:LINE:COL: ...`), are skipped.
 */
export function problemLines(output: string, file?: string): ProblemLine[] {
  return parseLines(
    output.split('\n').filter((l) => !l.startsWith('warning: ')),
    file,
  );
}

/** The warning lines `warning: FILE:LINE:COL: key.path: message` of an output, prefix removed. */
export function warningLines(output: string, file?: string): ProblemLine[] {
  const prefix = 'warning: ';
  return parseLines(
    output
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .map((l) => l.slice(prefix.length)),
    file,
  );
}

function parseLines(lines: string[], file: string | undefined): ProblemLine[] {
  const out: ProblemLine[] = [];
  for (const raw of lines) {
    const m = PROBLEM_LINE.exec(raw);
    if (!m || (file !== undefined && m[1] !== file)) continue;
    out.push({ file: m[1]!, line: Number(m[2]), col: Number(m[3]), path: m[4]!, message: m[5]!, raw });
  }
  return out;
}

/** The non-empty lines of an output. */
export function nonEmptyLines(output: string): string[] {
  return output.split('\n').filter((l) => l.trim() !== '');
}
