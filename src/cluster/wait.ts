/**
 * A generic wait loop: probe, back off, probe again, until the probe says done or the deadline passes.
 *
 * Pure logic: time comes from an injectable clock and sleep, so tests run it without real time. The
 * loop states its deadline once ("waiting up to 20m (until 14:32) for the API server to be ready"),
 * backs off exponentially (1 s, 2 s, 4 s, ... capped at 15 s by default), reports a probe's status only
 * when it changes, and on timeout throws a WaitTimeoutError (exit code 7) naming what was awaited, the
 * deadline and the last status seen, with diagnostics from the caller's `diagnose()` as `details`.
 *
 * The deadline is checked between probes: a probe must bound its own duration (the cluster client's
 * requests time out after 10 s), so a wait may end up to one probe's duration past its deadline.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ExitCode, NkdError } from '../errors.js';

/** What a probe reports: done with a value, or not yet with a one-line status ("HTTP 500: etcd failed"). */
export type ProbeResult<T> = { done: true; value: T } | { done: false; status: string };

/** Structured progress, for --json event lines and live task lists; `message` is the plain-text line. */
export type WaitEvent =
  | { type: 'start'; what: string; timeoutMs: number; deadline: Date; message: string }
  | { type: 'status'; what: string; status: string; message: string }
  | { type: 'done'; what: string; elapsedMs: number; attempts: number; message: string };

export type WaitProgress<E = WaitEvent> = (line: string, event: E) => void;

export interface WaitOptions<T> {
  /** Names what is awaited, to complete "waiting for …": e.g. "the API server to be ready". */
  what: string;
  timeoutMs: number;
  /** One attempt. A thrown error counts as "not done", with the error's message as the status. */
  probe: () => Promise<ProbeResult<T>>;
  /** Called with each progress line (and its structured form): the deadline, status changes, done. */
  onProgress?: WaitProgress;
  /** Lines explaining a timeout (which nodes never registered, ...); become the error's `details`. */
  diagnose?: () => readonly string[] | Promise<readonly string[]>;
  /** Clock in epoch milliseconds; defaults to Date.now. */
  now?: () => number;
  /** Defaults to a real timer; rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** First pause between probes (default 1 s); doubles after each probe. */
  initialDelayMs?: number;
  /** Cap of the pause between probes (default 15 s). */
  maxDelayMs?: number;
  /** Ctrl-C: stops the wait with an Interrupted error (exit 130), which a re-run resumes from. */
  signal?: AbortSignal;
}

export const DEFAULT_INITIAL_DELAY_MS = 1_000;
export const DEFAULT_MAX_DELAY_MS = 15_000;

/** A wait ran out of time. `details` holds the diagnostics; the other fields are for --json output. */
export class WaitTimeoutError extends NkdError {
  constructor(
    message: string,
    details: readonly string[],
    readonly what: string,
    readonly timeoutMs: number,
    readonly deadline: Date,
    readonly lastStatus: string | undefined,
    readonly attempts: number,
  ) {
    super(message, ExitCode.WaitTimeout, details);
    this.name = 'WaitTimeoutError';
  }
}

/** "250ms", "1.5s", "45s", "20m", "2m30s", "1h30m". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) {
    const seconds = ms / 1_000;
    return Number.isInteger(seconds) ? `${seconds}s` : `${seconds.toFixed(1)}s`;
  }
  const total = Math.round(ms / 1_000);
  const h = Math.floor(total / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = total % 60;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * Local wall-clock time of `at`, "14:32" (or "14:32:05" with seconds); prefixed with the date when it
 * is not the same day as `from`.
 */
export function formatClock(at: Date, options: { seconds?: boolean; from?: Date } = {}): string {
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}${options.seconds ? `:${pad(at.getSeconds())}` : ''}`;
  const from = options.from;
  const sameDay =
    !from ||
    (from.getFullYear() === at.getFullYear() &&
      from.getMonth() === at.getMonth() &&
      from.getDate() === at.getDate());
  return sameDay ? time : `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${time}`;
}

/** Deadlines under 5 minutes away are shown to the second: "until 14:32" is too coarse for them. */
function formatDeadline(deadline: Date, start: Date, timeoutMs: number): string {
  return formatClock(deadline, { seconds: timeoutMs < 5 * 60_000, from: start });
}

/** First line of an error's message, trimmed: statuses and diagnostics never carry stack dumps. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const first = text.split('\n').find((line) => line.trim() !== '') ?? '';
  return first.trim() || (err instanceof Error ? err.name : '(no detail)');
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : undefined);
}

export async function waitFor<T>(options: WaitOptions<T>): Promise<T> {
  const { what, timeoutMs, probe, signal } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const emit: WaitProgress = options.onProgress ?? (() => {});
  const initialDelay = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const maxDelay = Math.max(options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS, initialDelay);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new Error(`waitFor: invalid timeout ${timeoutMs}`);
  if (!(initialDelay > 0)) throw new Error(`waitFor: invalid initial delay ${initialDelay}`);

  const interrupted = (): NkdError =>
    new NkdError(
      `interrupted while waiting for ${what}; run the same command again to resume`,
      ExitCode.Interrupted,
    );

  const start = now();
  const deadline = new Date(start + timeoutMs);
  const deadlineText = formatDeadline(deadline, new Date(start), timeoutMs);
  const startMessage = `waiting up to ${formatDuration(timeoutMs)} (until ${deadlineText}) for ${what}`;
  emit(startMessage, { type: 'start', what, timeoutMs, deadline, message: startMessage });

  let pause = initialDelay;
  let lastStatus: string | undefined;
  let attempts = 0;
  for (;;) {
    if (signal?.aborted) throw interrupted();
    attempts++;
    let result: ProbeResult<T>;
    try {
      result = await probe();
    } catch (err) {
      result = { done: false, status: oneLine(err) };
    }
    if (result.done) {
      const elapsedMs = now() - start;
      const message = `done waiting for ${what} (${formatDuration(elapsedMs)})`;
      emit(message, { type: 'done', what, elapsedMs, attempts, message });
      return result.value;
    }
    const status = oneLine(result.status);
    if (status !== lastStatus) {
      lastStatus = status;
      const message = `still waiting for ${what}: ${status}`;
      emit(message, { type: 'status', what, status, message });
    }
    const remaining = deadline.getTime() - now();
    if (remaining <= 0) break;
    try {
      await sleep(Math.min(pause, remaining), signal);
    } catch (err) {
      if (signal?.aborted) throw interrupted();
      throw err;
    }
    pause = Math.min(pause * 2, maxDelay);
  }

  let details: readonly string[] = [];
  if (options.diagnose) {
    try {
      details = [...(await options.diagnose())];
    } catch (err) {
      details = [`(gathering diagnostics failed: ${oneLine(err)})`];
    }
  }
  const message =
    `timed out after ${formatDuration(timeoutMs)} waiting for ${what} (deadline ${deadlineText}); ` +
    `last status: ${lastStatus ?? 'none'}`;
  throw new WaitTimeoutError(message, details, what, timeoutMs, deadline, lastStatus, attempts);
}
