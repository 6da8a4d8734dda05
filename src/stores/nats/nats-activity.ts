import { KvWatchInclude, type KV } from '@nats-io/kv';
import type { ActivityEvent } from '../../core/state-store.js';
import { decodeActivity } from './nats-kv-records.js';
import { decodeKey } from './nats-resources.js';

export interface ActivityWatch {
  stop(): void;
}

/**
 * Watches the activity bucket for writes made after the call, and reports those of other stores (`origin`
 * differs) as `peer` events; a store reports its own writes itself, after commit. The watch is an ordered push
 * consumer: after a reconnect (server restart, network cut) it resumes after the last entry it delivered, so
 * activity written while this node was cut off still arrives once it is back.
 */
export async function watchActivity(
  kv: KV,
  options: { readonly origin: string; readonly onPeerActivity: (event: ActivityEvent) => void },
): Promise<ActivityWatch> {
  const watch = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    try {
      for await (const entry of watch) {
        if (entry.operation !== 'PUT') continue;
        const { atMs, origin } = decodeActivity(entry.string());
        if (origin === options.origin || !Number.isFinite(atMs)) continue;
        options.onPeerActivity({ name: decodeKey(entry.key), atMs, origin: 'peer' });
      }
    } catch {
      // The iterator only ends with the connection (store closed); nothing is left to report to.
    }
  })();
  return { stop: () => watch.stop() };
}
