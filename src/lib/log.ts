// The debug log: every run writes one, whatever happens. Lines are kept in memory and written at the
// end, into the cluster's state when the run got that far, or else into the user's cache directory —
// so invalid input never creates anything under the state directory. Never give it secret values.
import { appendFileSync, closeSync, constants, openSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { makeDirs } from '../state/safe-fs.js';

export class DebugLog {
  private lines: string[] = [];
  private clusterLogDir: string | undefined;
  /** Once attached to a cluster, lines go to the file as they come: a killed run keeps its log. */
  private streamingTo: string | undefined;

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** With --verbose: every line also goes here as it happens. */
  private echo: ((line: string) => void) | undefined;

  echoTo(write: ((line: string) => void) | undefined): void {
    this.echo = write;
  }

  debug(message: string): void {
    const line = `${this.now().toISOString()} ${message}`;
    this.echo?.(line);
    if (this.streamingTo) {
      try {
        appendPrivate(this.streamingTo, `${line}\n`);
        return;
      } catch {
        this.streamingTo = undefined; // keep it in memory; flush() tries again
      }
    }
    this.lines.push(line);
  }

  /** From now on the log belongs to this cluster's state, and is written as it grows. */
  attachToCluster(logDir: string): void {
    this.clusterLogDir = logDir;
    const file = this.flush();
    if (file) this.streamingTo = file;
  }

  fallbackDir(env: NodeJS.ProcessEnv = process.env): string {
    const cache =
      env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
    return join(cache, 'nkd');
  }

  /** Appends what is buffered to the log file; returns its path, or undefined if it could not be written. */
  flush(): string | undefined {
    const dir = this.clusterLogDir ?? this.fallbackDir();
    const file = join(dir, 'nkd-debug.log');
    if (this.streamingTo === file && this.lines.length === 0) return file;
    try {
      makeDirs(dir, dir); // bounded: Node's recursive mkdir spins forever under /proc
      rotateIfLarge(file);
      appendPrivate(file, `${this.lines.join('\n')}\n`);
      this.lines = [];
      return file;
    } catch {
      return undefined;
    }
  }
}

/** Appends to a 0600 file, never through a link planted in its place. */
function appendPrivate(file: string, text: string): void {
  const fd = openSync(
    file,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    appendFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Keeps the log bounded: past 1 MiB the file becomes nkd-debug.log.1 (replacing an older one). */
const MAX_LOG_BYTES = 1024 * 1024;

function rotateIfLarge(file: string): void {
  try {
    if (statSync(file).size > MAX_LOG_BYTES) renameSync(file, `${file}.1`);
  } catch {
    // no log yet
  }
}
