// The reader's schema problems in nkd's words ("must be a list, not number 5"), never zod's defaults.
import type { core } from 'zod';
import { capJson } from '../../lib/cap.js';

const KINDS: Record<string, string> = {
  array: 'a list',
  object: 'a mapping',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${capJson(value)}`;
}

export function issueMessage(issue: core.$ZodIssue): string {
  // Messages the schema wrote itself (not zod's defaults) are kept.
  if (!/^(Invalid|Too (big|small))\b/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${KINDS[issue.expected] ?? issue.expected}, not ${describe(issue.input)}`;
    case 'invalid_union':
      return 'has a form the NKD config format does not have here';
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    default:
      return 'is not valid here';
  }
}
