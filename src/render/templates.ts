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

export function renderTemplate(set: TemplateSet, key: string, context: object): string {
  const template = set.get(key);
  if (!template) throw new Error(`render: no template ${key}.hbs`);
  return template(context);
}
