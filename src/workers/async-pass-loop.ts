/**
 * Runs a pass function coalesced and serialized: at most one pass runs at a time, and any number of requests
 * made while it runs lead to exactly one more pass right after it. A request never waits for a timer.
 */
export class PassLoop {
  readonly #pass: () => Promise<void>;
  #loop: Promise<void> | undefined;
  #dirty = false;
  #stopped = false;

  constructor(pass: () => Promise<void>) {
    this.#pass = pass;
  }

  /** Resolves once a pass that started after this call has finished (at once when stopped). */
  request(): Promise<void> {
    if (this.#stopped) return this.#loop ?? Promise.resolve();
    this.#dirty = true;
    this.#loop ??= this.#run();
    return this.#loop;
  }

  /** The passes running now, if any. */
  get running(): Promise<void> | undefined {
    return this.#loop;
  }

  /** No pass starts after this; the one running (if any) finishes. */
  stop(): void {
    this.#stopped = true;
  }

  async #run(): Promise<void> {
    try {
      // No await between the last check of #dirty and the reset of #loop: a request arriving after the
      // check sees #loop undefined and starts a new run.
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        await this.#pass();
      }
    } finally {
      this.#loop = undefined;
    }
  }
}
