/**
 * A FIFO in-process mutex. dbt must not run twice at once against one warehouse and one project
 * directory (both would rebuild the same relations and overwrite target/), so every job's dbt
 * step takes this first.
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #held = false;

  get held(): boolean {
    return this.#held;
  }

  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    // The next waiter waits for the previous holder too, so giving up while queued (abort)
    // never lets two holders overlap.
    this.#tail = previous.then(() => mine);
    try {
      await waitOrAbort(previous, signal);
      this.#held = true;
      return await work();
    } finally {
      this.#held = false;
      release();
    }
  }
}

function waitOrAbort(promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
