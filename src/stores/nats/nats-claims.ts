import type { KV } from '@nats-io/kv';
import { StoreUnavailableError } from '../../core/state-store.js';
import { isLive } from './nats-kv-records.js';
import { claimKey, isWrongLastSequence } from './nats-resources.js';

const MAX_CAS_ROUNDS = 20;

/**
 * The idempotence claim of an element id in its queue (KV `c.<queue>.<id>`), alive from `enqueue` until the
 * element is completed or its dead letter deleted. `pending`: claimed, PubAck not confirmed yet (an enqueue that
 * failed half-way leaves it; the next enqueue of the id publishes again under the same `Nats-Msg-Id`).
 */
export type Claim = { state: 'pending' } | { state: 'queued' } | { state: 'dead'; deadSeq: number };

export const claimJson = (claim: Claim): string => JSON.stringify(claim);

/** A new claim's revision, the revision of a claim left `pending` by a failed enqueue, or `duplicate`. */
export async function claim(kv: KV, queue: string, id: string): Promise<number | 'duplicate'> {
  const key = claimKey(queue, id);
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    try {
      return await kv.create(key, claimJson({ state: 'pending' }));
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
    const entry = await kv.get(key);
    if (!isLive(entry)) continue;
    return entry.json<Claim>().state === 'pending' ? entry.revision : 'duplicate';
  }
  throw new StoreUnavailableError(`claim of ${id} in ${queue}: too many concurrent writers`);
}

/** Marks a pending claim queued; a concurrent change (the element already completed) wins. */
export async function confirmClaim(kv: KV, queue: string, id: string, revision: number): Promise<void> {
  try {
    await kv.update(claimKey(queue, id), claimJson({ state: 'queued' }), revision);
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
  }
}

export async function readClaim(kv: KV, queue: string, id: string): Promise<Claim | undefined> {
  const entry = await kv.get(claimKey(queue, id));
  return isLive(entry) ? entry.json<Claim>() : undefined;
}

export async function putClaim(kv: KV, queue: string, id: string, value: Claim): Promise<void> {
  await kv.put(claimKey(queue, id), claimJson(value));
}

export async function deleteClaim(kv: KV, queue: string, id: string): Promise<void> {
  await kv.delete(claimKey(queue, id));
}
