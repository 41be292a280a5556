// Values from the user's input are echoed in messages (an unknown key, a bad value); a 1 MB scalar
// must not become a 1 MB error line. Every echoed value goes through capValue.

/** Characters of an echoed value kept by default. */
export const ECHO_LIMIT = 80;

/** `text` cut to `limit` characters (by code point) with "…" when longer; control characters escaped. */
export function capValue(text: string, limit = ECHO_LIMIT): string {
  // Only the head is looked at: a huge value costs no more than a short one.
  const head = text.length > limit * 2 + 8 ? text.slice(0, limit * 2 + 8) : text;
  const chars = Array.from(head);
  const visible = chars.slice(0, limit).join('');
  const cut = chars.length > limit || head.length < text.length;
  // A newline or escape sequence in an echoed value would forge extra output lines or colours.
  // eslint-disable-next-line no-control-regex
  const safe = visible.replace(/[\u0000-\u001f\u007f]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : '?',
  );
  return cut ? `${safe}…` : safe;
}

/** JSON.stringify of a value for a message, capped. */
export function capJson(value: unknown, limit = ECHO_LIMIT): string {
  if (typeof value === 'string') return `"${capValue(value, limit)}"`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return capValue(text, limit);
}

/** A whole message line cut to `limit` characters with "…" (nothing escaped: the line is nkd's). */
export function capLine(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}
