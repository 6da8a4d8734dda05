import { afterAll, beforeAll } from 'vitest';
import { NatsStateStore } from '../../src/stores/nats/nats-state-store.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { describeStateStoreContract } from './state-store-contract.js';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

// One real nats-server for the file; every test uses fresh queue names. "Open again" (the restart case) is a
// new client connection to the same server: the streams, consumers and KV buckets are the durable state.
describeStateStoreContract('NatsStateStore (nats-server -js)', () =>
  Promise.resolve({
    open: () => NatsStateStore.open({ servers: server.url, timeoutMs: 5_000 }),
    destroy: () => Promise.resolve(),
  }),
);
