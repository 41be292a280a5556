// nkd talks to Kubernetes through one client of its own (src/kube, node:https): docs/architecture.md
// ("One Kubernetes client") gives the figures behind it. Nothing may bring a client library back.
import { describe, expect, it } from 'vitest';

describe('one Kubernetes client', () => {
  it('no source file imports a Kubernetes client library: everything goes through src/kube over node:https', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const src = new URL('../../src/', import.meta.url);
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('kube/client.ts');
    for (const file of files) {
      const text = readFileSync(new URL(file, src), 'utf8');
      expect(text, file).not.toMatch(/(from\s+|import\()\s*'@kubernetes\//);
    }
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@kubernetes/'))).toEqual([]);
  });
});
