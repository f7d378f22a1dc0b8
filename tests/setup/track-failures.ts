/** Runs in every test file: remember a failure so test databases and topics are kept for inspection. */
import { beforeEach } from 'vitest';

import { markFailed } from '../helpers/failures.ts';

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => markFailed());
});
