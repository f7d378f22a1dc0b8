import { configDefaults, defineConfig } from 'vitest/config';

// Tests that need no running service: `npm run test:unit` runs only these, without the global
// setup that starts services. Name new ones `*.unit.test.ts`.
const UNIT = ['tests/**/*.unit.test.ts'];

// Integration tests share one set of local services (or containers), isolated per file by
// database / topic names. Two cores: run files in a couple of forks, not one per test.
export default defineConfig({
  test: {
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // The JSON report gives CI (.ci/run) exact counts for its summary line.
    reporters: ['default', ['json', { outputFile: '.data/test-results.json' }]],
    setupFiles: ['tests/setup/track-failures.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT],
          globalSetup: ['tests/setup/global.ts'],
        },
      },
    ],
  },
});
