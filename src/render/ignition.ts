// Builders for Ignition objects. Files and units are collected in a NodeAssets bag by the role
// renderers and serialized once, sorted, so output never depends on the order code ran in.
import {
  IGNITION_SPEC_VERSION,
  type IgnitionConfig,
  type IgnitionDirectory,
  type IgnitionFile,
  type IgnitionUnit,
  type IgnitionUser,
} from './ignition-types.js';

export const MODE_PUBLIC = 0o644;
export const MODE_SECRET = 0o600;
export const MODE_EXECUTABLE = 0o755;
export const MODE_DIRECTORY = 0o755;
export const MODE_PRIVATE_DIRECTORY = 0o700;

const dataUrlCache = new Map<string, string>();
const DATA_URL_CACHE_LIMIT = 256;

/**
 * Base64 `data:` URLs carry any bytes (PEM, TOML, scripts) unchanged and keep configs compact. Most
 * files are the same on every node, so recent encodings are reused (bounded, so memory stays flat).
 */
export function dataUrl(contents: string): string {
  const cached = dataUrlCache.get(contents);
  if (cached !== undefined) return cached;
  const url = `data:;base64,${Buffer.from(contents, 'utf8').toString('base64')}`;
  if (dataUrlCache.size >= DATA_URL_CACHE_LIMIT) dataUrlCache.clear();
  dataUrlCache.set(contents, url);
  return url;
}

export class NodeAssets {
  private readonly files = new Map<string, IgnitionFile>();
  private readonly directories = new Map<string, IgnitionDirectory>();
  private readonly units = new Map<string, IgnitionUnit>();
  private readonly users: IgnitionUser[] = [];

  /** Adds a file the node must end with exactly; it replaces whatever the OS image shipped there. */
  file(path: string, contents: string, mode: number = MODE_PUBLIC): this {
    if (this.files.has(path)) throw new Error(`render: file ${path} written twice`);
    this.files.set(path, { path, mode, overwrite: true, contents: { source: dataUrl(contents) } });
    return this;
  }

  directory(path: string, mode: number = MODE_DIRECTORY): this {
    const existing = this.directories.get(path);
    if (existing && existing.mode !== mode)
      throw new Error(`render: directory ${path} declared with two modes`);
    this.directories.set(path, { path, mode });
    return this;
  }

  unit(name: string, contents: string, enabled = true): this {
    if (this.units.has(name)) throw new Error(`render: unit ${name} written twice`);
    this.units.set(name, { name, enabled, contents });
    return this;
  }

  /** Enables a unit the OS image ships, optionally with a drop-in. */
  enable(name: string, dropin?: { name: string; contents: string }): this {
    const existing = this.units.get(name);
    const unit: IgnitionUnit = existing ?? { name, enabled: true };
    if (dropin) unit.dropins = [...(unit.dropins ?? []), dropin];
    this.units.set(name, unit);
    return this;
  }

  user(user: IgnitionUser): this {
    this.users.push(user);
    return this;
  }

  hasFile(path: string): boolean {
    return this.files.has(path);
  }

  toConfig(): IgnitionConfig {
    const byKey =
      <T>(key: (item: T) => string) =>
      (a: T, b: T) =>
        key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
    const config: IgnitionConfig = { ignition: { version: IGNITION_SPEC_VERSION } };
    if (this.users.length > 0) config.passwd = { users: this.users };
    config.storage = {
      directories: [...this.directories.values()].sort(byKey((d) => d.path)),
      files: [...this.files.values()].sort(byKey((f) => f.path)),
    };
    const units = [...this.units.values()].sort(byKey((u) => u.name));
    for (const unit of units) unit.dropins?.sort(byKey((d) => d.name));
    config.systemd = { units };
    return config;
  }
}

export function serializeIgnition(config: IgnitionConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
