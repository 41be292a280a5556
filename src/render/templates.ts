// Loads and compiles the node templates once. Loading is the only I/O in rendering; it happens before
// the pure render functions run, which receive the compiled set.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import Handlebars from 'handlebars';
import { packageRoot } from '../lib/package-root.js';

export type TemplateSet = ReadonlyMap<string, Handlebars.TemplateDelegate>;

function listTemplates(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.hbs'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

export function defaultTemplatesDir(): string {
  return join(packageRoot(), 'templates');
}

/** Keys are paths relative to the templates folder without `.hbs`, e.g. `common/usr/local/bin/nkd-kubeadm`. */
export function loadTemplates(dir: string = defaultTemplatesDir()): TemplateSet {
  const set = new Map<string, Handlebars.TemplateDelegate>();
  for (const file of listTemplates(dir)) {
    const key = relative(dir, file)
      .split(sep)
      .join('/')
      .replace(/\.hbs$/, '');
    // noEscape: the output is shell and INI, not HTML; strict: a missing value fails the render.
    set.set(key, Handlebars.compile(readFileSync(file, 'utf8'), { noEscape: true, strict: true }));
  }
  return set;
}

/**
 * Characters no value may bring into a template. Templates compile with noEscape (their output is shell,
 * systemd units and TOML, not HTML), so values are checked instead of escaped: none of these is needed by
 * a validated config value (names, addresses, image references, sockets), and each could end a TOML
 * string, start a shell expansion or command, or be a systemd specifier (%) or line break.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const UNSAFE = /[\u0000-\u001f\u007f"'`\\$;&|<>#%*?!(){}~]/;
/** Whitespace splits a shell word or a unit's ExecStart argument: only nkd's own phrases may have it. */
const PHRASE_KEYS = new Set(['action', 'command']);

function assertSafeContext(value: unknown, key: string, template: string): void {
  if (typeof value === 'string') {
    if (UNSAFE.test(value) || (!PHRASE_KEYS.has(key) && /\s/.test(value))) {
      // A bug: config validation must have refused the value. Not quoted: it may be anything.
      throw new Error(`render: the value of ${key} for ${template}.hbs has characters unsafe there`);
    }
  } else if (Array.isArray(value)) {
    for (const item of value) assertSafeContext(item, key, template);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) assertSafeContext(v, k, template);
  }
}

export function renderTemplate(set: TemplateSet, key: string, context: object): string {
  const template = set.get(key);
  if (!template) throw new Error(`render: no template ${key}.hbs`);
  assertSafeContext(context, 'context', key);
  return template(context);
}
