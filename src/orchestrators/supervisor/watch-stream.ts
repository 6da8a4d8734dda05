import type { ReadableStreamReadResult } from 'node:stream/web';
import type { Logger } from '../../core/ports.js';
import { parseWatchMessage, type WatchMessage } from '../../core/topology-wire.js';

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/**
 * Keeps one newline-delimited JSON stream open (`GET url`), reopening it after any end or error with a
 * back-off of 100 ms doubling to 5 s (reset once a connection delivered a message). Each well-formed
 * line goes to `onMessage`; a malformed line is logged and the connection is reopened (a fresh
 * snapshot is the only safe way to resynchronise).
 */
export interface WatchStreamOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly logger: Logger;
  readonly onMessage: (message: WatchMessage) => void;
}

export class WatchStream {
  readonly firstMessage: Promise<void>;
  readonly #options: WatchStreamOptions;
  readonly #abort = new AbortController();
  #resolveFirst!: () => void;
  #pause: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  /** A message arrived on the current connection. */
  #received = false;

  constructor(options: WatchStreamOptions) {
    this.#options = options;
    this.firstMessage = new Promise((resolve) => (this.#resolveFirst = resolve));
    void this.#loop();
  }

  close(): void {
    this.#abort.abort();
    if (this.#pause !== undefined) {
      clearTimeout(this.#pause.timer);
      this.#pause.resolve();
    }
  }

  async #loop(): Promise<void> {
    let backoffMs = FIRST_BACKOFF_MS;
    let failures = 0;
    while (!this.#abort.signal.aborted) {
      this.#received = false;
      try {
        await this.#readOnce();
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        // Logged once per outage, not per attempt.
        if (failures++ === 0)
          this.#options.logger.warn({ err: error }, 'supervisor watch lost; reconnecting');
      }
      if (this.#received) {
        backoffMs = FIRST_BACKOFF_MS;
        failures = 0;
      }
      await new Promise<void>((resolve) => {
        this.#pause = { timer: setTimeout(resolve, backoffMs), resolve };
      });
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    }
  }

  /** One connection, until it ends (always by an error: the supervisor never ends a watch while it runs). */
  async #readOnce(): Promise<void> {
    const response = await fetch(this.#options.url, {
      headers: this.#options.headers,
      signal: this.#abort.signal,
    });
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel();
      throw new Error(`supervisor watch answered ${response.status}`);
    }
    const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    for (;;) {
      const chunk: ReadableStreamReadResult<Uint8Array> = await reader.read();
      if (chunk.done) throw new Error('supervisor watch stream ended');
      buffered += decoder.decode(chunk.value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() === '') continue;
        const message = parseWatchMessage(line);
        if (message === undefined) {
          await reader.cancel();
          throw new Error(`malformed supervisor watch line: ${line.slice(0, 200)}`);
        }
        this.#received = true;
        this.#options.onMessage(message);
        this.#resolveFirst();
      }
    }
  }
}
