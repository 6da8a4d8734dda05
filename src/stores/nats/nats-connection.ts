import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SlimFaasError } from '../../core/errors.js';
import { StoreUnavailableError } from '../../core/state-store.js';
import { NatsQueues } from './nats-queues.js';
import {
  ACTIVITY_BUCKET,
  LEADER_BUCKET,
  QUEUE_BUCKET,
  VALUES_BUCKET,
  ensureStreams,
} from './nats-resources.js';

export interface Resources {
  readonly nc: NatsConnection;
  readonly queues: NatsQueues;
  readonly activityKv: KV;
  readonly valuesKv: KV;
  /** One key, `leader`: the leadership lease (see nats-leadership.ts). */
  readonly leaderKv: KV;
}

/**
 * Streams and buckets, created if missing, each with `replicas` copies. The queues and leader buckets have
 * `allow_direct: false`: their reads go to the stream leader, so in a cluster a read is never older than the
 * compare-and-set it prepares (a ledger, a lease).
 */
export async function openResources(
  nc: NatsConnection,
  options: {
    readonly timeoutMs: number;
    readonly ackWaitMs: number;
    readonly maxAckPending: number;
    readonly replicas: number;
  },
): Promise<Resources> {
  const { timeoutMs, replicas } = options;
  const js = jetstream(nc, { timeout: timeoutMs });
  const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
  await ensureStreams(jsm, replicas);
  const kvm = new Kvm(js);
  const [queuesKv, activityKv, valuesKv, leaderKv] = await Promise.all([
    kvm.create(QUEUE_BUCKET, { history: 1, allow_direct: false, replicas }),
    kvm.create(ACTIVITY_BUCKET, { history: 1, replicas }),
    kvm.create(VALUES_BUCKET, { history: 1, replicas }),
    kvm.create(LEADER_BUCKET, { history: 1, allow_direct: false, replicas }),
  ]);
  const queues = new NatsQueues({ ...options, nc, js, jsm, kv: queuesKv });
  return { nc, queues, activityKv, valuesKv, leaderKv };
}

export function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from NATS within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** NATS errors become `store_unavailable` (cause kept); our own `SlimFaasError`s (bad_request…) pass through. */
export function toStoreError(error: unknown, context: string): SlimFaasError {
  if (error instanceof SlimFaasError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`${context}: ${message}`, { cause: error });
}
