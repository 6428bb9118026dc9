/**
 * One-at-a-time execution per key (a deal, an exchange at the TTP). Machine steps are async
 * (they sign and verify), so without this two concurrent requests for one key would both read
 * the same old state. The store's compare-and-set (step.ts) still guards against a second
 * process on the same database.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // Forget the key once nobody is queued behind us, so the map does not grow with every deal.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a running or queued task (for tests and diagnostics). */
  get size(): number {
    return this.tails.size;
  }
}
