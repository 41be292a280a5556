import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mergeKubeconfig } from '../../src/kubeconfig/merge.js';

const incoming = (cluster: string, server = 'https://10.0.0.2:6443') => ({
  clusters: [{ name: `nkd-${cluster}`, cluster: { server, 'certificate-authority-data': 'Q0E=' } }],
  users: [
    {
      name: `nkd-admin@${cluster}`,
      user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' },
    },
  ],
  contexts: [
    { name: `nkd-admin@${cluster}`, context: { cluster: `nkd-${cluster}`, user: `nkd-admin@${cluster}` } },
  ],
  'current-context': `nkd-admin@${cluster}`,
});

const OTHER = `apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster: { server: https://prod.example:6443 }
users:
  - name: alice
    user: { token: keep-me }
contexts:
  - name: alice@prod
    context: { cluster: prod, user: alice }
current-context: alice@prod
preferences: { colors: true }
`;

describe('mergeKubeconfig', () => {
  it('creates a complete kubeconfig from nothing and makes the cluster current', () => {
    const result = mergeKubeconfig('', incoming('demo'), false);
    const doc = parse(result.text);
    expect(doc['current-context']).toBe('nkd-admin@demo');
    expect(doc.clusters.map((c: { name: string }) => c.name)).toEqual(['nkd-demo']);
    expect(result.currentContextChanged).toBe(true);
  });

  it('adds next to other entries without touching them or the current context', () => {
    const result = mergeKubeconfig(OTHER, incoming('demo'), false);
    const doc = parse(result.text);
    expect(doc.clusters.map((c: { name: string }) => c.name)).toEqual(['prod', 'nkd-demo']);
    expect(doc.users[0]).toEqual({ name: 'alice', user: { token: 'keep-me' } });
    expect(doc['current-context']).toBe('alice@prod');
    expect(doc.preferences).toEqual({ colors: true });
    expect(result.replaced).toEqual([]);
  });

  it('replaces only its own entries when merged again, and switches context only when asked', () => {
    const once = mergeKubeconfig(OTHER, incoming('demo'), false).text;
    const again = mergeKubeconfig(once, incoming('demo', 'https://api.demo:6443'), true);
    const doc = parse(again.text);
    expect(doc.clusters.filter((c: { name: string }) => c.name === 'nkd-demo')).toHaveLength(1);
    expect(doc.clusters.find((c: { name: string }) => c.name === 'nkd-demo').cluster.server).toBe(
      'https://api.demo:6443',
    );
    expect(again.replaced).toEqual(['clusters/nkd-demo', 'users/nkd-admin@demo', 'contexts/nkd-admin@demo']);
    expect(doc['current-context']).toBe('nkd-admin@demo');
  });

  it('refuses a file that is not YAML rather than overwrite it', () => {
    expect(() => mergeKubeconfig('clusters: [unclosed', incoming('demo'), false)).toThrow(/not valid YAML/);
  });
});
