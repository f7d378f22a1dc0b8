/** Starts a worker thread whose code is TypeScript, wherever the caller runs (tsx, vitest, node). */
import { Worker, type ResourceLimits } from 'node:worker_threads';

const ENTRY = new URL('./ts-worker-entry.mjs', import.meta.url);

export function startTsWorker(entry: URL, data: Record<string, unknown>, resourceLimits?: ResourceLimits): Worker {
  return new Worker(ENTRY, { workerData: { ...data, entry: entry.href }, ...(resourceLimits ? { resourceLimits } : {}) });
}
