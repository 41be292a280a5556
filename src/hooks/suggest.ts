// "Did you mean": the known command closest to what was typed, by edit distance, also matching a
// misspelt topic ("confg" → "config import") when the topic holds a single command.

export function closestCommand(typed: string, known: readonly string[]): string | undefined {
  const candidates = new Map<string, string>(); // as it might be typed → what to suggest
  for (const id of known) {
    candidates.set(id, id);
    const [topic, ...rest] = id.split(' ');
    if (rest.length === 0 || known.includes(topic!)) continue;
    const children = known.filter((k) => k.startsWith(`${topic} `));
    if (children.length === 1) candidates.set(topic!, id);
  }
  let best: { distance: number; suggestion: string } | undefined;
  for (const [form, suggestion] of candidates) {
    const distance = editDistance(typed.toLowerCase(), form);
    if (!best || distance < best.distance) best = { distance, suggestion };
  }
  // Beyond this many edits the "closest" command is a guess, not a correction.
  const allowed = Math.max(2, Math.floor(typed.length / 3));
  return best && best.distance <= allowed ? best.suggestion : undefined;
}

/** Levenshtein distance, with a transposition counted as one edit ("deplyo" → "deploy"). */
export function editDistance(a: string, b: string): number {
  if (a.length > 200 || b.length > 200) return Math.max(a.length, b.length);
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
