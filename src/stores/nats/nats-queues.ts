import { randomUUID } from 'node:crypto';
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  StoreUnavailableError,
  type AttemptEnd,
  type LeaseOperationResult,
  type LeaseOptions,
  type LeaseResult,
  type LeasedElement,
  type QueueCounts,
  type QueueElement,
  maxAttempts,
} from '../../core/state-store.js';
import { isLive } from './nats-kv-records.js';
import { PayloadCache } from './payload-cache.js';
import { LedgerWriter, type ChangeFn, type LedgerChange } from './ledger-writer.js';
import {
  QUEUE_STREAM,
  consumerName,
  ensureConsumer,
  ledgerKey,
  publishElement,
  pullNoWait,
  queueSubject,
  type Delivery,
} from './nats-resources.js';
import { confirmClaim, claim, deleteClaim, putClaim, readClaim } from './nats-claims.js';
import {
  countDeadLetters,
  deleteDeadLetter,
  listDeadLetters,
  publishDeadLetter,
  requeueDeadLetter,
} from './nats-dead-letters.js';
import {
  countStates,
  dueEntries,
  endAttempt,
  leaseCheck,
  nextAvailableAtMs,
  parseLedger,
  reclaimExpired,
  startLease,
  type DeadEntry,
  type Ledger,
  type LedgerEntry,
} from './queue-ledger.js';

const MAX_PULLS_PER_LEASE = 4;
/**
 * A lease that has to pull anyway pulls up to this many more deliveries than it hands out; they wait `ready` in
 * the ledger, so the next leases are one compare-and-set, without a pull round trip (payloads: PayloadCache).
 */
const LEASE_PREFETCH = 16;

export interface NatsQueuesDeps {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kv: KV;
  readonly timeoutMs: number;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

/** Queue operations on the work-queue stream, the per-queue consumers and the ledgers (see nats-state-store.ts). */
export class NatsQueues {
  readonly #d: NatsQueuesDeps;
  readonly #consumers = new Set<string>();
  readonly #ledgers: LedgerWriter;
  readonly #prefetched = new PayloadCache({ maxEntries: 128, maxPayloadBytes: 64 * 1024 });

  constructor(deps: NatsQueuesDeps) {
    this.#d = deps;
    this.#ledgers = new LedgerWriter(deps.kv);
  }

  async enqueue(queue: string, element: QueueElement): Promise<'enqueued' | 'duplicate'> {
    if (element.newId === true) {
      // A caller-generated id enqueued once: no idempotence claim (no other enqueue can carry this id), one
      // round trip. The message says so, and `complete` then has no claim to delete.
      await publishElement(this.#d.js, { queue, element, msgID: `${queue}:${element.id}`, claimless: true });
      return 'enqueued';
    }
    const revision = await claim(this.#d.kv, queue, element.id);
    if (revision === 'duplicate') return 'duplicate';
    // The claim's revision is unique per claim: a retry after a lost PubAck is deduplicated by the server,
    // a new element reusing the id of a completed one is not.
    const ack = await publishElement(this.#d.js, {
      queue,
      element,
      msgID: `${queue}:${element.id}:${revision}`,
    });
    await confirmClaim(this.#d.kv, queue, element.id, revision);
    return ack.duplicate ? 'duplicate' : 'enqueued';
  }

  async lease(queue: string, options: LeaseOptions): Promise<LeaseResult> {
    await this.#ensureConsumer(queue);
    const { nowMs } = options;
    let fetched: Delivery[] | undefined;
    const payloads = new Map<string, Uint8Array>();
    const outcome = await this.#updateLedger(queue, async (ledger) => {
      const dead = reclaimExpired(ledger, nowMs);
      if (fetched === undefined) {
        const due = dueEntries(ledger, nowMs).length;
        fetched = await this.#pull(
          queue,
          due >= options.max ? 0 : options.max + LEASE_PREFETCH - due,
          ledger,
        );
        for (const delivery of fetched) {
          payloads.set(delivery.id, delivery.payload);
          this.#prefetched.put(delivery.seq, delivery.payload);
        }
      }
      for (const delivery of fetched) {
        const known = ledger[delivery.id];
        if (known !== undefined) known.ackSubject = delivery.ackSubject;
        else ledger[delivery.id] = newEntry(delivery);
      }
      const chosen = dueEntries(ledger, nowMs).slice(0, options.max);
      for (const entry of chosen) startLease(entry, { ...options, token: randomUUID() });
      const write = dead.length > 0 || fetched.length > 0 || chosen.length > 0;
      return { result: { dead, chosen: structuredClone(chosen), next: nextAvailableAtMs(ledger) }, write };
    }).catch(async (error: unknown) => {
      // Pulled but maybe in no ledger (the write failed): without a NAK the server would redeliver them only
      // after ack_wait (5 min by default). A NAK of an entry the write did record is harmless: the next pull
      // gets it again and the ledger keeps it (its ack subject is updated).
      await Promise.all((fetched ?? []).map((d) => this.#nak(d.ackSubject)));
      throw error;
    });
    for (const entry of outcome.dead) await this.#bury(queue, entry);
    const found = await Promise.all(
      outcome.chosen.map(async (entry) => ({
        entry,
        payload:
          this.#prefetched.take(entry.seq) ?? payloads.get(entry.id) ?? (await this.#payloadIfStored(entry)),
      })),
    );
    // An entry whose stream message is gone (acknowledged without its ledger update, seen after a kill -9 of a
    // node or a nats-server) can never be delivered: forget it instead of failing every lease it is chosen in,
    // which stranded the elements leased with it.
    const gone = found.filter((f) => f.payload === undefined).map((f) => f.entry);
    if (gone.length > 0) await this.#forget(queue, gone);
    const elements = found.flatMap((f) => (f.payload === undefined ? [] : [toLeased(f.entry, f.payload)]));
    return { elements, nextAvailableAtMs: outcome.next };
  }

  async #payloadIfStored(entry: LedgerEntry): Promise<Uint8Array | undefined> {
    const stored = await this.#d.jsm.streams.getMessage(QUEUE_STREAM, { seq: entry.seq });
    return stored === null ? undefined : stored.data;
  }

  /** Removes entries (same id and stream sequence) from the ledger. */
  async #forget(queue: string, entries: readonly LedgerEntry[]): Promise<void> {
    await this.#updateLedger(queue, (ledger) => {
      let write = false;
      for (const entry of entries) {
        if (ledger[entry.id]?.seq !== entry.seq) continue;
        delete ledger[entry.id];
        write = true;
      }
      return { result: undefined, write };
    });
  }

  /** Pulls up to `want` deliveries; pulls again when the server's redeliveries of known entries filled a batch. */
  async #pull(queue: string, want: number, ledger: Ledger): Promise<Delivery[]> {
    const deliveries: Delivery[] = [];
    let fresh = 0;
    for (let pull = 0; pull < MAX_PULLS_PER_LEASE && fresh < want; pull++) {
      const batch = want - fresh;
      const got = await pullNoWait(this.#d.nc, { queue, batch, timeoutMs: this.#d.timeoutMs });
      deliveries.push(...got);
      fresh += got.filter((d) => ledger[d.id] === undefined).length;
      if (got.length < batch) break;
    }
    return deliveries;
  }

  /**
   * Applies a lease-holder's change. `absent` from the ledger: `lease-lost` if the element still exists
   * elsewhere (ready in the stream, or dead), `not-found` otherwise.
   */
  async withLease(
    queue: string,
    lease: { readonly id: string; readonly leaseToken: string },
    apply: (ledger: Ledger, entry: LedgerEntry) => void,
  ): Promise<{ kind: 'ok'; entry: LedgerEntry } | { kind: 'lease-lost' } | { kind: 'not-found' }> {
    const outcome = await this.#updateLedger(
      queue,
      (ledger): LedgerChange<LedgerEntry | 'absent' | 'lease-lost'> => {
        const check = leaseCheck(ledger, lease.id, lease.leaseToken);
        const entry = ledger[lease.id];
        if (check !== 'held' || entry === undefined)
          return { result: check === 'held' ? 'absent' : check, write: false };
        apply(ledger, entry);
        return { result: structuredClone(entry), write: true };
      },
    );
    if (outcome === 'lease-lost') return { kind: 'lease-lost' };
    if (outcome === 'absent') {
      return (await readClaim(this.#d.kv, queue, lease.id)) ? { kind: 'lease-lost' } : { kind: 'not-found' };
    }
    return { kind: 'ok', entry: outcome };
  }

  async complete(queue: string, id: string, leaseToken: string): Promise<LeaseOperationResult> {
    const outcome = await this.withLease(queue, { id, leaseToken }, (ledger) => delete ledger[id]);
    if (outcome.kind !== 'ok') return outcome;
    const { entry } = outcome;
    await Promise.all([
      this.#ackRequest(entry.ackSubject, '+ACK'),
      entry.claimless === true ? undefined : deleteClaim(this.#d.kv, queue, id),
    ]);
    return { kind: 'ok' };
  }

  async deadLetter(
    queue: string,
    id: string,
    leaseToken: string,
    end: AttemptEnd,
  ): Promise<LeaseOperationResult> {
    const outcome = await this.withLease(queue, { id, leaseToken }, (ledger, entry) => {
      endAttempt(entry, end);
      delete ledger[id];
    });
    if (outcome.kind !== 'ok') return outcome;
    await this.#bury(queue, { ...outcome.entry, deadAtMs: end.endedAtMs });
    return { kind: 'ok' };
  }

  /** Publishes the dead letter, then a plain `+TERM` (on 2.9 a term with a reason is ignored → redelivery). */
  async #bury(queue: string, entry: DeadEntry): Promise<void> {
    const payload = await this.#payload(entry);
    const deadSeq = await publishDeadLetter(this.#d.js, { queue, entry, payload });
    await this.#ackRequest(entry.ackSubject, '+TERM');
    await putClaim(this.#d.kv, queue, entry.id, { state: 'dead', deadSeq });
  }

  /** Best effort: a failure leaves the redelivery to ack_wait. */
  async #nak(ackSubject: string): Promise<void> {
    await this.#d.nc.request(ackSubject, '-NAK', { timeout: this.#d.timeoutMs }).catch(() => undefined);
  }

  /** Publishes `+WPI` (working): restarts the server's ack_wait for a delivery kept leased for a long time. */
  touch(ackSubject: string): void {
    this.#d.nc.publish(ackSubject, '+WPI');
  }

  async counts(queue: string): Promise<QueueCounts> {
    const [consumer, entry, dead] = await Promise.all([
      this.#d.jsm.consumers.info(QUEUE_STREAM, consumerName(queue)).catch((error: unknown) => {
        if (error instanceof JetStreamApiError && error.code === 10014) return undefined;
        throw error;
      }),
      this.#d.kv.get(ledgerKey(queue)),
      countDeadLetters(this.#d.jsm, queue),
    ]);
    const ledger = parseLedger(isLive(entry) ? entry.string() : undefined);
    const states = countStates(ledger);
    const pending = consumer?.num_pending ?? (await this.#streamCount(queueSubject(queue)));
    // Delivered by the server but in no ledger: a store died between its fetch and its ledger write. The
    // server redelivers them after ack_wait, so they count as ready.
    const orphans = Math.max(0, (consumer?.num_ack_pending ?? 0) - Object.keys(ledger).length);
    return { ...states, ready: pending + states.ready + orphans, dead };
  }

  async #streamCount(subject: string): Promise<number> {
    const info = await this.#d.jsm.streams.info(QUEUE_STREAM, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  /** Queues with a message in the work-queue stream: ready, leased or waiting (dead ones were terminated). */
  async queues(): Promise<readonly string[]> {
    const info = await this.#d.jsm.streams.info(QUEUE_STREAM, { subjects_filter: queueSubject('>') });
    const prefix = queueSubject('');
    return Object.entries(info.state.subjects ?? {})
      .filter(([, count]) => count > 0)
      .map(([subject]) => subject.slice(prefix.length))
      .sort();
  }

  deadLetters(queue: string) {
    return listDeadLetters(this.#d.jsm, queue);
  }

  requeueDeadLetter(queue: string, id: string) {
    return requeueDeadLetter(this.#d, queue, id);
  }

  deleteDeadLetter(queue: string, id: string) {
    return deleteDeadLetter(this.#d, queue, id);
  }

  async #ensureConsumer(queue: string): Promise<void> {
    if (this.#consumers.has(queue)) return;
    await ensureConsumer(this.#d.jsm, queue, this.#d);
    this.#consumers.add(queue);
  }

  /** An ack or term sent as a request: the server's empty reply confirms it was applied. */
  async #ackRequest(ackSubject: string, verb: '+ACK' | '+TERM'): Promise<void> {
    await this.#d.nc.request(ackSubject, verb, { timeout: this.#d.timeoutMs });
  }

  async #payload(entry: LedgerEntry): Promise<Uint8Array> {
    const stored = await this.#d.jsm.streams.getMessage(QUEUE_STREAM, { seq: entry.seq });
    if (stored === null) throw new StoreUnavailableError(`message ${entry.seq} of ${entry.id} is missing`);
    return stored.data;
  }

  /** Read-modify-write of a queue's ledger, group-committed with concurrent changes (ledger-writer.ts). */
  #updateLedger<T>(queue: string, change: ChangeFn<T>): Promise<T> {
    return this.#ledgers.update(queue, change);
  }
}

function newEntry(delivery: Delivery): LedgerEntry {
  return {
    id: delivery.id,
    seq: delivery.seq,
    ackSubject: delivery.ackSubject,
    enqueuedAtMs: delivery.enqueuedAtMs,
    policy: delivery.policy,
    payloadBytes: delivery.payload.length,
    ...(delivery.claimless ? { claimless: true as const } : {}),
    attempts: 0,
    history: [],
    state: 'ready',
  };
}

function toLeased(entry: LedgerEntry, payload: Uint8Array): LeasedElement {
  return {
    id: entry.id,
    payload,
    enqueuedAtMs: entry.enqueuedAtMs,
    policy: entry.policy,
    attempt: entry.attempts,
    lastAttempt: entry.attempts >= maxAttempts(entry.policy),
    leaseToken: entry.leaseToken ?? '',
    leaseExpiresAtMs: entry.leaseExpiresAtMs ?? 0,
  };
}
