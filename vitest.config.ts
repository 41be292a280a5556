import { defineConfig } from 'vitest/config';

// Tests that drive the one real libvirtd a machine can run (test/libvirt/) share it and its network
// namespace, and run under TCG on 2 cores: one file at a time. Everything else runs in parallel.
const LIBVIRT_TESTS = 'test/libvirt/**/*.test.ts';

export default defineConfig({
  test: {
    disableConsoleIntercept: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [LIBVIRT_TESTS] } },
      {
        extends: true,
        test: { name: 'libvirt', include: [LIBVIRT_TESTS], fileParallelism: false },
      },
    ],
  },
});
