import type { KV, KvEntry } from '@nats-io/kv';
import { StoreUnavailableError } from '../../core/state-store.js';
import { decodeKey, encodeKey, isWrongLastSequence } from './nats-resources.js';

const MAX_CAS_ROUNDS = 20;

export function isLive(entry: KvEntry | null): entry is KvEntry {
  return entry !== null && entry.operation === 'PUT';
}

/**
 * Writes `value` only if the key is still at `entry`'s revision (or still absent). Returns false when a
 * concurrent writer won: the caller reads again and retries.
 */
export async function compareAndSet(kv: KV, key: string, entry: KvEntry | null, value: string | Uint8Array) {
  try {
    if (entry === null) await kv.create(key, value);
    else await kv.update(key, value, entry.revision);
    return true;
  } catch (error) {
    if (isWrongLastSequence(error)) return false;
    throw error;
  }
}

/**
 * An activity value is `<atMs>@<origin>`: the origin (the writing store's id) lets a store tell its own writes
 * from its peers' in the watch. A bare number (older values) reads as written by nobody in particular.
 */
export function encodeActivity(atMs: number, origin: string): string {
  return `${atMs}@${origin}`;
}

export function decodeActivity(text: string): { readonly atMs: number; readonly origin: string } {
  const at = text.indexOf('@');
  return at === -1
    ? { atMs: Number(text), origin: '' }
    : { atMs: Number(text.slice(0, at)), origin: text.slice(at + 1) };
}

/**
 * Max-merge by read-modify-write with revision CAS: an older time never replaces a newer one. Always writes
 * (the newer time, with this origin), so that every call raises a watch event the leader sees. Returns the
 * stored time.
 */
export async function recordActivity(
  kv: KV,
  options: { readonly name: string; readonly atMs: number; readonly origin: string },
): Promise<number> {
  const key = encodeKey(options.name);
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const entry = await kv.get(key);
    const stored = isLive(entry) ? decodeActivity(entry.string()).atMs : 0;
    const atMs = Math.max(stored, options.atMs);
    if (await compareAndSet(kv, key, entry, encodeActivity(atMs, options.origin))) return atMs;
  }
  throw new StoreUnavailableError(`activity of ${options.name}: too many concurrent writers`);
}

export async function readActivity(kv: KV): Promise<Map<string, number>> {
  const activity = new Map<string, number>();
  for (const key of await listKeys(kv)) {
    const entry = await kv.get(key);
    if (isLive(entry)) activity.set(decodeKey(key), decodeActivity(entry.string()).atMs);
  }
  return activity;
}

async function listKeys(kv: KV): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  return keys;
}

/**
 * Values carry their expiry in the first 8 bytes (float64, NaN = never): per-key TTL is silently ignored by
 * NATS 2.9, and expiry must follow the caller's `nowMs` anyway.
 */
function frame(value: Uint8Array, expiresAtMs: number | undefined): Uint8Array {
  const framed = new Uint8Array(8 + value.length);
  new DataView(framed.buffer).setFloat64(0, expiresAtMs ?? Number.NaN);
  framed.set(value, 8);
  return framed;
}

function unframe(framed: Uint8Array): { value: Uint8Array; expiresAtMs: number | undefined } {
  const expiresAtMs = new DataView(framed.buffer, framed.byteOffset, 8).getFloat64(0);
  return { value: framed.slice(8), expiresAtMs: Number.isNaN(expiresAtMs) ? undefined : expiresAtMs };
}

const expired = (expiresAtMs: number | undefined, nowMs: number) =>
  expiresAtMs !== undefined && expiresAtMs <= nowMs;

export async function getValue(kv: KV, key: string, nowMs: number): Promise<Uint8Array | undefined> {
  const entry = await kv.get(encodeKey(key));
  if (!isLive(entry)) return undefined;
  const { value, expiresAtMs } = unframe(entry.value);
  return expired(expiresAtMs, nowMs) ? undefined : value;
}

export async function setValue(kv: KV, key: string, value: Uint8Array, expiresAtMs?: number): Promise<void> {
  await kv.put(encodeKey(key), frame(value, expiresAtMs));
}

export async function deleteValue(kv: KV, key: string): Promise<void> {
  await kv.delete(encodeKey(key));
}

/** Deletes each expired value only if unchanged since read (revision CAS), so a fresh `setValue` survives. */
export async function deleteExpiredValues(kv: KV, nowMs: number): Promise<number> {
  let deleted = 0;
  for (const key of await listKeys(kv)) {
    const entry = await kv.get(key);
    if (!isLive(entry) || !expired(unframe(entry.value).expiresAtMs, nowMs)) continue;
    try {
      await kv.delete(key, { previousSeq: entry.revision });
      deleted++;
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
  }
  return deleted;
}
