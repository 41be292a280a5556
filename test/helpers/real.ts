// Real-component tests: where a real tool is missing, a developer's run skips them with the reason in
// the test name, but CI (CI=true) fails them, so a missing install step can never pass as green.
import { describe, it } from 'vitest';

export interface Requirement {
  /** What is missing and how to get it, when it is; undefined when everything is there. */
  missing(): string | undefined;
}

/** `describe`, or (tools missing) a skipped suite locally and a failing one in CI. */
export function describeReal(name: string, requirement: Requirement, body: () => void): void {
  const missing = requirement.missing();
  if (missing === undefined) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it('has the real components it needs', () => {
        throw new Error(`${name}: ${missing} (CI never skips a real-component test)`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${missing}]`, body);
  }
}
