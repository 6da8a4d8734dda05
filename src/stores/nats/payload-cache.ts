/**
 * Payloads of deliveries a lease pulled ahead (recorded `ready` in the ledger, not handed out yet), so the lease
 * that hands them out needs no `STREAM.MSG.GET` round trip. Keyed by stream sequence (unique, never reused);
 * bounded: past `maxEntries` the oldest go, and a miss only costs that round trip. Large payloads are not kept.
 */
export class PayloadCache {
  readonly #maxEntries: number;
  readonly #maxPayloadBytes: number;
  readonly #payloads = new Map<number, Uint8Array>();

  constructor(options: { readonly maxEntries: number; readonly maxPayloadBytes: number }) {
    this.#maxEntries = options.maxEntries;
    this.#maxPayloadBytes = options.maxPayloadBytes;
  }

  put(seq: number, payload: Uint8Array): void {
    if (payload.length > this.#maxPayloadBytes) return;
    this.#payloads.set(seq, payload);
    for (const oldest of this.#payloads.keys()) {
      if (this.#payloads.size <= this.#maxEntries) break;
      this.#payloads.delete(oldest);
    }
  }

  /** The payload of `seq`, removed from the cache (a leased element carries its own). */
  take(seq: number): Uint8Array | undefined {
    const payload = this.#payloads.get(seq);
    this.#payloads.delete(seq);
    return payload;
  }

  get size(): number {
    return this.#payloads.size;
  }
}
