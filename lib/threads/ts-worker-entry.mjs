// Worker threads do not inherit the main thread's TypeScript loader (tsx, vitest), so a worker
// starts here, in plain JavaScript, registers tsx for itself and then loads its TypeScript entry.
import { workerData } from 'node:worker_threads';

import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
