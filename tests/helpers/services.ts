/**
 * The services the test suite runs against: `ensureTestServices()` (vitest globalSetup) makes
 * them reachable and `testEndpoints()` says where they are, from inside any test worker.
 */
import { inject } from 'vitest';

import { loadConfig } from '../../lib/config/index.ts';
import { endpointsFromConfig, type TestEndpoints } from './ensure-services.ts';

export { endpointEnv, ensureTestServices, type TestEndpoints, type TestServices } from './ensure-services.ts';

/** Where the services are, from inside a test worker (or, outside vitest, from the configuration). */
export function testEndpoints(): TestEndpoints {
  let provided: TestEndpoints | undefined;
  try {
    provided = inject('shopflowEndpoints');
  } catch {
    provided = undefined;
  }
  return provided ?? endpointsFromConfig(loadConfig());
}
