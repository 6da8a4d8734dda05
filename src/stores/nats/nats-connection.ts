import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SlimFaasError } from '../../core/errors.js';
import { StoreUnavailableError } from '../../core/state-store.js';
import { NatsQueues } from './nats-queues.js';
import { ACTIVITY_BUCKET, QUEUE_BUCKET, VALUES_BUCKET, ensureStreams } from './nats-resources.js';

export interface Resources {
  readonly nc: NatsConnection;
  readonly queues: NatsQueues;
  readonly activityKv: KV;
  readonly valuesKv: KV;
}

/**
 * Streams and buckets, created if missing. The queues bucket has `allow_direct: false`: its reads go to the
 * stream leader, so in a cluster a ledger read is never older than the compare-and-set it prepares.
 */
export async function openResources(
  nc: NatsConnection,
  options: { readonly timeoutMs: number; readonly ackWaitMs: number; readonly maxAckPending: number },
): Promise<Resources> {
  const { timeoutMs } = options;
  const js = jetstream(nc, { timeout: timeoutMs });
  const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
  await ensureStreams(jsm);
  const kvm = new Kvm(js);
  const [queuesKv, activityKv, valuesKv] = await Promise.all([
    kvm.create(QUEUE_BUCKET, { history: 1, allow_direct: false }),
    kvm.create(ACTIVITY_BUCKET, { history: 1 }),
    kvm.create(VALUES_BUCKET, { history: 1 }),
  ]);
  const queues = new NatsQueues({ ...options, nc, js, jsm, kv: queuesKv });
  return { nc, queues, activityKv, valuesKv };
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
