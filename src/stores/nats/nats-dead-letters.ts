import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
  type StoredMsg,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { headers } from '@nats-io/transport-node';
import type { AttemptRecord, DeadLetter, QueueElement } from '../../core/state-store.js';
import { deleteClaim, putClaim, readClaim } from './nats-claims.js';
import type { DeadEntry } from './queue-ledger.js';
import {
  DEAD_STREAM,
  HEADER_ATTEMPTS,
  HEADER_DEAD_AT,
  HEADER_ENQUEUED_AT,
  HEADER_ID,
  HEADER_POLICY,
  HEADER_QUEUE_SEQ,
  deadSubject,
  publishElement,
} from './nats-resources.js';

/**
 * Dead letters are messages of the SLIMFAAS_DEAD_LETTERS stream (limits retention: kept until deleted or
 * requeued): the payload as body, the element and its attempt history in headers. The `Nats-Msg-Id` makes a
 * repeated dead-lettering of the same delivery (after a lost reply) a no-op within the duplicate window.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  options: { readonly queue: string; readonly entry: DeadEntry; readonly payload: Uint8Array },
): Promise<number> {
  const { entry, queue } = options;
  const h = headers();
  h.set(HEADER_ID, entry.id);
  h.set(HEADER_ENQUEUED_AT, String(entry.enqueuedAtMs));
  h.set(HEADER_POLICY, JSON.stringify(entry.policy));
  h.set(HEADER_DEAD_AT, String(entry.deadAtMs));
  h.set(HEADER_ATTEMPTS, JSON.stringify(entry.history));
  h.set(HEADER_QUEUE_SEQ, String(entry.seq));
  const ack = await js.publish(deadSubject(queue), options.payload, {
    headers: h,
    msgID: `dead:${queue}:${entry.id}:${entry.seq}`,
  });
  return ack.seq;
}

export interface StoredDeadLetter {
  readonly deadLetter: DeadLetter;
  readonly queueSeq: number;
}

/** Every dead letter of `queue`, oldest enqueue first (`STREAM.MSG.GET` with `next_by_subj`, 2.9+). */
export async function listDeadLetters(jsm: JetStreamManager, queue: string): Promise<StoredDeadLetter[]> {
  const found: StoredDeadLetter[] = [];
  let seq = 1;
  for (;;) {
    const query = { seq, next_by_subj: deadSubject(queue) } as unknown as MsgRequest;
    const stored = await jsm.streams.getMessage(DEAD_STREAM, query);
    if (stored === null) break;
    found.push({ deadLetter: toDeadLetter(stored), queueSeq: Number(stored.header.get(HEADER_QUEUE_SEQ)) });
    seq = stored.seq + 1;
  }
  return found.sort((a, b) => a.queueSeq - b.queueSeq);
}

function toDeadLetter(stored: StoredMsg): DeadLetter {
  const attempts = JSON.parse(stored.header.get(HEADER_ATTEMPTS) || '[]') as AttemptRecord[];
  const last = attempts.at(-1);
  return {
    id: stored.header.get(HEADER_ID),
    enqueuedAtMs: Number(stored.header.get(HEADER_ENQUEUED_AT)),
    deadAtMs: Number(stored.header.get(HEADER_DEAD_AT)),
    payloadBytes: stored.data.length,
    attempts,
    lastStatus: last?.status,
    lastError: last?.error,
  };
}

/** How many dead letters `queue` holds, from the stream's per-subject counts. */
export async function countDeadLetters(jsm: JetStreamManager, queue: string): Promise<number> {
  const subject = deadSubject(queue);
  const info = await jsm.streams.info(DEAD_STREAM, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

interface DeadLetterDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kv: KV;
}

/** Publishes the dead letter again at the end of its queue (fresh attempts), then deletes the dead message. */
export async function requeueDeadLetter(
  deps: DeadLetterDeps,
  queue: string,
  id: string,
): Promise<{ readonly kind: 'requeued' | 'not-found' }> {
  const claim = await readClaim(deps.kv, queue, id);
  if (claim?.state !== 'dead') return { kind: 'not-found' };
  const stored = await deps.jsm.streams.getMessage(DEAD_STREAM, { seq: claim.deadSeq });
  if (stored === null) return { kind: 'not-found' };
  const element: QueueElement = {
    id,
    payload: stored.data,
    enqueuedAtMs: Number(stored.header.get(HEADER_ENQUEUED_AT)),
    policy: JSON.parse(stored.header.get(HEADER_POLICY)) as QueueElement['policy'],
  };
  // Keyed by the dead message: two replicas requeueing the same dead letter publish it once.
  await publishElement(deps.js, { queue, element, msgID: `${queue}:${id}:requeue:${claim.deadSeq}` });
  await putClaim(deps.kv, queue, id, { state: 'queued' });
  await deleteDeadMessage(deps.jsm, claim.deadSeq);
  return { kind: 'requeued' };
}

export async function deleteDeadLetter(
  deps: DeadLetterDeps,
  queue: string,
  id: string,
): Promise<{ readonly kind: 'deleted' | 'not-found' }> {
  const claim = await readClaim(deps.kv, queue, id);
  if (claim?.state !== 'dead') return { kind: 'not-found' };
  await deleteDeadMessage(deps.jsm, claim.deadSeq);
  await deleteClaim(deps.kv, queue, id);
  return { kind: 'deleted' };
}

async function deleteDeadMessage(jsm: JetStreamManager, seq: number): Promise<void> {
  try {
    await jsm.streams.deleteMessage(DEAD_STREAM, seq, false);
  } catch (error) {
    // 10037: no message found (already deleted by a concurrent call).
    if (!(error instanceof JetStreamApiError) || error.code !== 10037) throw error;
  }
}
