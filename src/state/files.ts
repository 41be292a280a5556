// The one reader of nkd's JSON state files (plan.json, outputs.json, tokens, checkpoints...). Some hold
// secrets, so no error ever quotes a file's content (V8's JSON errors quote the text around the fault):
// a file that does not parse, or parses to the wrong shape, is reported as corrupt, by path only.
// Files are opened without following links and must pass the trust rules (trust.ts).
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ExitCode, NkdError } from '../errors.js';
import { assertTrusted } from './trust.js';

/** No state file comes near this; a larger one is not nkd's (and would exhaust memory to read). */
export const MAX_STATE_JSON_BYTES = 256 * 1024 * 1024;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

function readError(path: string, what: string, err: unknown): NkdError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new NkdError(`${what} ${path} is missing`, ExitCode.State);
  if (code === 'ELOOP') {
    return new NkdError(
      `${path} is a symbolic link: nkd does not follow links in its state directory; remove the link (check who made it) and run again`,
      ExitCode.State,
    );
  }
  if (err instanceof NkdError) return err;
  return new NkdError(`cannot read ${what} ${path} (${code ?? 'unknown error'})`, ExitCode.State);
}

function corrupt(path: string, what: string, why: string): NkdError {
  return new NkdError(
    `${what} ${path} is corrupt (${why}): restore it from a backup, or move it away and run the command that writes it again`,
    ExitCode.State,
  );
}

function parse<T>(text: string, path: string, what: string, isValid: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the content: never pass it on.
    throw corrupt(path, what, 'not valid JSON');
  }
  if (!isValid(value)) throw corrupt(path, what, 'not the structure nkd writes');
  return value;
}

/**
 * Reads and checks a JSON state file. Throws the state error (exit 4) when it is missing, a link, not
 * nkd's (trust.ts), unreadable or corrupt; the message names `what` and `path`, never the content.
 */
export async function readStateJson<T>(
  path: string,
  what: string,
  isValid: (v: unknown) => v is T,
): Promise<T> {
  return parse(await readStateText(path, what), path, what, isValid);
}

/** readStateJson for the synchronous callers. */
export function readStateJsonSync<T>(path: string, what: string, isValid: (v: unknown) => v is T): T {
  return parse(readStateTextSync(path, what), path, what, isValid);
}

/** The text of a state file (a key, a certificate...), with the same checks and errors as readStateJson. */
export async function readStateText(path: string, what: string): Promise<string> {
  try {
    const handle = await open(path, READ_FLAGS);
    try {
      const st = await handle.stat();
      assertTrusted(path, st, 'file');
      if (st.size > MAX_STATE_JSON_BYTES) throw corrupt(path, what, `${st.size} bytes`);
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw readError(path, what, err);
  }
}

/** readStateText for the synchronous callers. */
export function readStateTextSync(path: string, what: string): string {
  try {
    const fd = openSync(path, READ_FLAGS);
    try {
      const st = fstatSync(fd);
      assertTrusted(path, st, 'file');
      if (st.size > MAX_STATE_JSON_BYTES) throw corrupt(path, what, `${st.size} bytes`);
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw readError(path, what, err);
  }
}

/** A JSON object (not an array, not null): the outer shape of every state file. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An object whose every value is a string (tokens by node, timestamps by node). */
export function isStringRecord(v: unknown): v is Record<string, string> {
  return isJsonObject(v) && Object.values(v).every((x) => typeof x === 'string');
}
