// Durations on the command line: "90s", "20m", "1h30m", or a bare number of minutes.
import { Flags } from '@oclif/core';

const MAX_DURATION_MS = 2 ** 31 - 1;

export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    if (Number(trimmed) === 0) throw new Error(`"${text}" must be longer than zero`);
    if (Number(trimmed) * 60_000 > MAX_DURATION_MS)
      throw new Error(`"${text}" is too long: at most 24 days (576h)`);
    return Number(trimmed) * 60_000;
  }
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(trimmed);
  if (!match || trimmed === '' || match.slice(1).every((g) => g === undefined)) {
    throw new Error(`"${text}" is not a duration: use e.g. 90s, 20m, 1h30m, or a number of minutes`);
  }
  const [, h, m, s] = match;
  const ms = (Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0)) * 1000;
  if (ms <= 0) throw new Error(`"${text}" must be longer than zero`);
  // Node's timers hold at most 2^31-1 ms; a longer one would fire at once.
  if (ms > MAX_DURATION_MS) throw new Error(`"${text}" is too long: at most 24 days (576h)`);
  return ms;
}

/** A duration flag whose value is in milliseconds. */
export function durationFlag(options: { description: string; default: string }) {
  return Flags.custom<number>({
    description: `${options.description} (e.g. 90s, 20m, 1h)`,
    default: async () => parseDuration(options.default),
    defaultHelp: async () => options.default,
    parse: async (input) => parseDuration(input),
  })();
}

/** A duration flag without a default: undefined unless given. */
export function optionalDurationFlag(options: { description: string }) {
  return Flags.custom<number>({
    description: `${options.description} (e.g. 90s, 20m, 1h)`,
    parse: async (input) => parseDuration(input),
  })();
}
