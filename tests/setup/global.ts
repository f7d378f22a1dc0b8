/**
 * Before any test: make sure the services are reachable (starting the local ones if needed, or
 * containers when a Docker engine is available) and hand their endpoints to the test workers.
 */
import type { TestProject } from 'vitest/node';

import { ensureTestServices } from '../helpers/ensure-services.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { endpoints, teardown } = await ensureTestServices();
  project.provide('shopflowEndpoints', endpoints);
  return teardown;
}
