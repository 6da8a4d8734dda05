import type { StoreSetting } from './config/read-config.js';
import type { StateStore } from './core/state-store.js';
import { EmbeddedStateStore } from './stores/embedded/embedded-state-store.js';
import { NatsStateStore } from './stores/nats/nats-state-store.js';

/**
 * Opens the store chosen by `SLIMFAAS_STORE` (composition roots only: `runUp`, `runServe`).
 * `embedded`: the SQLite store in `embeddedDirectory` (created if missing). NATS: connects and creates the
 * streams and buckets if missing; an unreachable server rejects (bounded by the store's timeout) with an
 * error naming the URLs, so start-up fails instead of waiting.
 */
export async function openStore(setting: StoreSetting, embeddedDirectory: string): Promise<StateStore> {
  if (setting.kind === 'embedded') return EmbeddedStateStore.open({ directory: embeddedDirectory });
  const urls = setting.servers.join(',');
  try {
    return await NatsStateStore.open({ servers: setting.servers });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`SLIMFAAS_STORE: cannot open the NATS store at ${urls}: ${reason}`, { cause: error });
  }
}
