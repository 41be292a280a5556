/**
 * The admission policies that confine each Housekeeper agent to its own Node: present where the cluster
 * can enforce them, aimed at the agent's service account from rbac.yaml, and allowing every annotation the
 * agent code writes (read from its source) but none of those that steer an agent (target, leave).
 * What a real API server makes of the CEL is tested in test/integration/housekeeper-realapi.test.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { admissionPoliciesSupported, housekeeperManifests } from '../../src/addons/housekeeper/manifests.js';
import * as types from '../../src/housekeeper/types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const options = { image: 'hub.example/nkd-housekeeper:test', nkdVersion: '0.1.0' };
const kinds = (version?: string) =>
  housekeeperManifests({ ...options, ...(version ? { kubeVersion: version } : {}) }).map((o) => o.kind);

/** Every `[X_ANNOTATION]:` key the agent's code writes, resolved through types.ts. */
function annotationsWrittenByAgent(): string[] {
  const dir = resolve(import.meta.dirname, '../../src/housekeeper/agent');
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    // `{ [X_ANNOTATION]: value }` in a patch, or the agent's `report(node, X_ANNOTATION, value)`.
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/\[(\w+_ANNOTATION)\]:|\breport\(\w+, (\w+_ANNOTATION)\b/g))
      names.add((m[1] ?? m[2])!);
  }
  return [...names].map((name) => {
    const value = (types as Record<string, unknown>)[name];
    if (typeof value !== 'string') throw new Error(`${name} is not exported by types.ts`);
    return value;
  });
}

describe('the agent admission policies', () => {
  const objects = housekeeperManifests({ ...options, kubeVersion: 'v1.30.4' }) as Any[];
  const ownNode = objects.find(
    (o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name.endsWith('own-node'),
  );
  const agentAccount = objects.find(
    (o) => o.kind === 'ServiceAccount' && o.metadata.name === 'housekeeper-agent',
  );

  it('are applied from Kubernetes 1.30 (policy v1, node claim in tokens) and left out below', () => {
    expect(kinds('v1.30.0')).toContain('ValidatingAdmissionPolicy');
    expect(kinds('v1.35.1')).toContain('ValidatingAdmissionPolicyBinding');
    expect(kinds('v1.29.9')).not.toContain('ValidatingAdmissionPolicy');
    expect(kinds('v1.29.9')).not.toContain('ValidatingAdmissionPolicyBinding');
    expect(admissionPoliciesSupported(undefined)).toBe(true);
    expect(() => admissionPoliciesSupported('1.30')).toThrow(/not a Kubernetes version/);
  });

  it('each have a binding that denies', () => {
    const policies = objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy');
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.spec.failurePolicy).toBe('Fail');
      const binding = objects.find(
        (o) => o.kind === 'ValidatingAdmissionPolicyBinding' && o.spec.policyName === policy.metadata.name,
      );
      expect(binding?.spec.validationActions).toEqual(['Deny']);
      const username = `system:serviceaccount:${agentAccount.metadata.namespace}:${agentAccount.metadata.name}`;
      expect(policy.spec.matchConditions).toEqual([
        { name: 'housekeeper-agent', expression: `request.userInfo.username == '${username}'` },
      ]);
    }
  });

  it('key the node on the token node claim', () => {
    const first = ownNode.spec.validations[0].expression as string;
    expect(first).toContain(
      "request.userInfo.extra['authentication.kubernetes.io/node-name'] == [object.metadata.name]",
    );
  });

  it('let the agent write every annotation its code writes, and none that steers an agent', () => {
    const own = JSON.parse(
      ownNode.spec.variables.find((v: Any) => v.name === 'own').expression.replaceAll("'", '"'),
    );
    expect([...own].sort()).toEqual([...new Set(annotationsWrittenByAgent())].sort());
    expect(own).not.toContain(types.TARGET_ANNOTATION);
    expect(own).not.toContain(types.LEAVE_ANNOTATION);
  });
});
