import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
  type StreamConfig,
} from '@nats-io/jetstream';
import { createInbox, headers, nanos, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { RetryPolicy } from '../../core/function-spec.js';
import type { QueueElement } from '../../core/state-store.js';

export const QUEUE_STREAM = 'SLIMFAAS_QUEUES';
export const DEAD_STREAM = 'SLIMFAAS_DEAD_LETTERS';
export const QUEUE_BUCKET = 'slimfaas_queues';
export const ACTIVITY_BUCKET = 'slimfaas_activity';
export const VALUES_BUCKET = 'slimfaas_values';
export const LEADER_BUCKET = 'slimfaas_leader';
const DUPLICATE_WINDOW_MS = 120_000;

/** Queue names become subject tokens and consumer names, so they are restricted to these characters. */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

export const queueSubject = (queue: string) => `slimfaas.q.${queue}`;
export const deadSubject = (queue: string) => `slimfaas.dead.${queue}`;
export const notifySubject = (queue: string) => `slimfaas.enqueued.${queue}`;
export const consumerName = (queue: string) => `slimfaas-q-${queue}`;
/** KV keys allow `[-/_=.a-zA-Z0-9]`: arbitrary ids and names are base64url-encoded. */
export const encodeKey = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
export const decodeKey = (key: string) => Buffer.from(key, 'base64url').toString('utf8');
export const claimKey = (queue: string, id: string) => `c.${queue}.${encodeKey(id)}`;
export const ledgerKey = (queue: string) => `l.${queue}`;

export const HEADER_ID = 'Slimfaas-Id';
export const HEADER_ENQUEUED_AT = 'Slimfaas-Enqueued-At-Ms';
export const HEADER_POLICY = 'Slimfaas-Policy';
export const HEADER_DEAD_AT = 'Slimfaas-Dead-At-Ms';
export const HEADER_ATTEMPTS = 'Slimfaas-Attempts';
export const HEADER_QUEUE_SEQ = 'Slimfaas-Queue-Seq';
export const HEADER_ORIGIN = 'Slimfaas-Origin';
/** `1` on an element enqueued without an idempotence claim (`QueueElement.newId`). */
export const HEADER_CLAIMLESS = 'Slimfaas-Claimless';

/** JetStream "wrong last sequence": a compare-and-set lost against a concurrent writer. */
export function isWrongLastSequence(error: unknown): boolean {
  return (
    (error instanceof JetStreamApiError && error.code === 10071) ||
    (error instanceof Error && error.message.includes('wrong last sequence'))
  );
}

/**
 * Creates the two streams unless they exist (a replica that loses the creation race uses the winner's).
 * `replicas`: copies of each stream in a NATS cluster (1 on a single server, 3 on a 3-node cluster); an existing
 * stream keeps the replica count it was created with.
 */
export async function ensureStreams(jsm: JetStreamManager, replicas: number): Promise<void> {
  const common: Partial<StreamConfig> = {
    storage: StorageType.File,
    num_replicas: replicas,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
  await ensureStream(jsm, {
    ...common,
    name: QUEUE_STREAM,
    subjects: [queueSubject('>')],
    retention: RetentionPolicy.Workqueue,
  });
  await ensureStream(jsm, {
    ...common,
    name: DEAD_STREAM,
    subjects: [deadSubject('>')],
    retention: RetentionPolicy.Limits,
  });
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== 10059) throw error;
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      if (!(addError instanceof JetStreamApiError) || addError.code !== 10058) throw addError;
    }
  }
}

/**
 * The queue's durable pull consumer. `max_deliver: -1`: the store counts attempts itself, and on 2.9 a message
 * that exhausts `max_deliver` would stay in the work-queue stream, never delivered again. `ack_wait` only
 * matters when a store dies between a fetch and its ledger write: the server then redelivers after it.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  queue: string,
  limits: { readonly ackWaitMs: number; readonly maxAckPending: number },
): Promise<void> {
  const config = {
    durable_name: consumerName(queue),
    filter_subject: queueSubject(queue),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(limits.ackWaitMs),
    max_deliver: -1,
    max_ack_pending: limits.maxAckPending,
  };
  try {
    await jsm.consumers.add(QUEUE_STREAM, config);
  } catch (error) {
    // Another replica created it with other limits: use it as it is.
    const existing = await jsm.consumers.info(QUEUE_STREAM, config.durable_name).catch(() => undefined);
    if (existing === undefined) throw error;
  }
}

/** Publishes an element to its queue subject; resolves with the PubAck (the stream stored it). */
export function publishElement(
  js: JetStreamClient,
  options: {
    readonly queue: string;
    readonly element: QueueElement;
    readonly msgID: string;
    readonly claimless?: boolean;
  },
): Promise<PubAck> {
  const { element } = options;
  const h = headers();
  h.set(HEADER_ID, element.id);
  h.set(HEADER_ENQUEUED_AT, String(element.enqueuedAtMs));
  h.set(HEADER_POLICY, JSON.stringify(element.policy));
  if (options.claimless === true) h.set(HEADER_CLAIMLESS, '1');
  return js.publish(queueSubject(options.queue), element.payload, { headers: h, msgID: options.msgID });
}

export interface Delivery {
  readonly id: string;
  readonly seq: number;
  readonly ackSubject: string;
  readonly enqueuedAtMs: number;
  readonly policy: RetryPolicy;
  readonly payload: Uint8Array;
  readonly claimless: boolean;
}

/**
 * One `no_wait` pull of up to `batch` messages: the server sends what it has, then a 404/408 status (or 409
 * when `max_ack_pending` is reached). Resolves with what arrived before `timeoutMs` if anything did.
 */
export function pullNoWait(
  nc: NatsConnection,
  options: { readonly queue: string; readonly batch: number; readonly timeoutMs: number },
): Promise<Delivery[]> {
  return new Promise((resolve, reject) => {
    const deliveries: Delivery[] = [];
    const inbox = createInbox();
    const finish = (error?: Error) => {
      clearTimeout(timer);
      sub.unsubscribe();
      if (error !== undefined && deliveries.length === 0) reject(error);
      else resolve(deliveries);
    };
    const sub = nc.subscribe(inbox, {
      callback: (error, msg) => {
        if (error !== null) return finish(error);
        if (!msg.reply) return finish();
        deliveries.push(toDelivery(msg));
        if (deliveries.length >= options.batch) finish();
      },
    });
    const timer = setTimeout(
      () => finish(new Error(`pull timed out after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    nc.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${QUEUE_STREAM}.${consumerName(options.queue)}`,
      JSON.stringify({ batch: options.batch, no_wait: true }),
      { reply: inbox },
    );
  });
}

function toDelivery(msg: Msg): Delivery {
  const reply = msg.reply ?? '';
  // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending> (no domain here).
  const tokens = reply.split('.');
  const seq = Number(tokens.length >= 12 ? tokens[7] : tokens[5]);
  return {
    id: msg.headers?.get(HEADER_ID) ?? '',
    seq,
    ackSubject: reply,
    enqueuedAtMs: Number(msg.headers?.get(HEADER_ENQUEUED_AT) ?? 0),
    policy: JSON.parse(msg.headers?.get(HEADER_POLICY) ?? 'null') as RetryPolicy,
    payload: msg.data,
    claimless: msg.headers?.get(HEADER_CLAIMLESS) === '1',
  };
}
