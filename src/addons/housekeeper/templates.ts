// Loads Housekeeper's install manifests from templates/housekeeper. They are plain YAML, not handlebars
// (structured documents are typed objects in nkd): this file reads and checks them, manifests.ts sets the
// parameters on the parsed objects. A broken file is an nkd packaging bug, so errors are plain Errors
// (exit 1) that name the file and the line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../cluster/types.js';
import { packageRoot } from '../../lib/package-root.js';

/** The files that make up the install, all required. A file outside this list is not loaded. */
export const HOUSEKEEPER_TEMPLATE_FILES = [
  'crd.yaml',
  'namespace.yaml',
  'rbac.yaml',
  'admission.yaml',
  'operator.yaml',
  'agent.yaml',
] as const;

export function housekeeperTemplatesDir(): string {
  return join(packageRoot(), 'templates', 'housekeeper');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses one template file's documents; comment-only documents are skipped. */
export function parseHousekeeperTemplate(text: string, path: string): KubeObject[] {
  // uniqueKeys: a key written twice would otherwise silently keep the last value.
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const objects: KubeObject[] = [];
  for (const doc of docs) {
    // Warnings count too: they mean YAML read something other than what the file seems to say.
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) throw new Error(`housekeeper: template ${path} is malformed: ${problem.message}`);
    if (doc.contents === null) continue;
    const value: unknown = doc.toJS();
    const where = `template ${path}, document ${objects.length + 1}`;
    if (!isRecord(value)) throw new Error(`housekeeper: ${where} is not a mapping`);
    const { apiVersion, kind, metadata } = value;
    if (typeof apiVersion !== 'string' || apiVersion === '') {
      throw new Error(`housekeeper: ${where} has no apiVersion`);
    }
    if (typeof kind !== 'string' || kind === '') throw new Error(`housekeeper: ${where} has no kind`);
    if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
      throw new Error(`housekeeper: ${where} (${kind}) has no metadata.name`);
    }
    objects.push(value as KubeObject);
  }
  if (objects.length === 0) throw new Error(`housekeeper: template ${path} contains no objects`);
  return objects;
}

/** Reads and parses every template file in `dir`, in HOUSEKEEPER_TEMPLATE_FILES order. */
export function readHousekeeperTemplates(dir: string = housekeeperTemplatesDir()): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const file of HOUSEKEEPER_TEMPLATE_FILES) {
    const path = join(dir, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new Error(
        `housekeeper: cannot read template ${path} (${code}); the nkd installation is incomplete`,
      );
    }
    objects.push(...parseHousekeeperTemplate(text, path));
  }
  return objects;
}
