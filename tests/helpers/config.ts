/**
 * A Config for tests: the real loader, pointed at the test endpoints, quiet logs unless
 * LOG_LEVEL asks otherwise, plus per-test overrides (given as environment variable values,
 * so they are validated exactly like a user's).
 */
import { loadConfig, type Config } from '../../lib/config/index.ts';
import { endpointEnv } from './ensure-services.ts';
import { testEndpoints } from './services.ts';

export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    ...process.env,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...endpointEnv(testEndpoints()),
    ...overrides,
  });
}

/** A short random suffix that makes database, topic and group names unique per test file. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Lower-case letters, digits and `_` only, at most `max` characters: safe in any identifier. */
export function sanitizeLabel(label: string, max = 24): string {
  return (
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, max) || 'test'
  );
}
