import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ServerConfig } from './config/read-config.js';
import { SingleNodeLeadership, type Leadership } from './core/leadership.js';
import type { Logger } from './core/ports.js';
import type { StateStore } from './core/state-store.js';
import { EmbeddedStateStore } from './stores/embedded/embedded-state-store.js';

/** A store and the leadership that goes with it: whoever shares the store shares the election. */
export interface OpenedStore {
  readonly store: StateStore;
  readonly leadership: Leadership;
}

/** `<host>-<pid>-<random>`: unique per process, readable in logs and on the dashboard. */
export function newNodeId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/**
 * Opens the store chosen by `SLIMFAAS_STORE` (composition roots only: `runUp`, `runServe`).
 * `embedded`: the SQLite store in `embeddedDirectory` (created if missing); a single writer, so this process
 * always leads. NATS: connects and creates the streams and buckets if missing (with `SLIMFAAS_NATS_REPLICAS`
 * copies); the leadership is a lease in the same JetStream (`SLIMFAAS_LEADER_LEASE_MS`), not started yet. An
 * unreachable server rejects (bounded by the store's timeout) with an error naming the URLs, so start-up fails
 * instead of waiting.
 */
export async function openStore(
  config: Pick<ServerConfig, 'store' | 'leaderLeaseMs' | 'natsReplicas'>,
  options: { readonly embeddedDirectory: string; readonly logger: Logger; readonly nodeId?: string },
): Promise<OpenedStore> {
  const setting = config.store;
  const nodeId = options.nodeId ?? newNodeId();
  if (setting.kind === 'embedded') {
    const store = await EmbeddedStateStore.open({ directory: options.embeddedDirectory });
    return { store, leadership: new SingleNodeLeadership(nodeId) };
  }
  const urls = setting.servers.join(',');
  try {
    // Loaded only when chosen: the NATS client is idle memory a single-node SlimFaas does not need.
    const { NatsStateStore } = await import('./stores/nats/nats-state-store.js');
    const store = await NatsStateStore.open({
      servers: setting.servers,
      replicas: config.natsReplicas,
      name: `slimfaas ${nodeId}`,
    });
    if (store.warning !== undefined) options.logger.warn({}, store.warning);
    const leadership = store.leadership({
      nodeId,
      leaseMs: config.leaderLeaseMs,
      logger: options.logger.child({ component: 'leadership' }),
    });
    return { store, leadership };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`SLIMFAAS_STORE: cannot open the NATS store at ${urls}: ${reason}`, { cause: error });
  }
}
