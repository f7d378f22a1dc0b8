import { defineConfig } from 'vitest/config';

// Integration tests share one set of local services (or testcontainers), isolated per file by
// database / topic names. Two cores: run files in a couple of forks, not one per test.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/setup/global.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
