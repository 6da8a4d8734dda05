// Child process for test/integration/embedded-store-crash.test.ts: enqueues `count` elements into the embedded
// store in `directory` with `concurrency` requests in flight, and prints `committed <id>` once each enqueue has
// resolved (i.e. is on disk). The test SIGKILLs it in the middle of the burst.
import { EmbeddedStateStore } from '../../src/stores/embedded/embedded-state-store.js';

const [directory, countText = '2000', concurrencyText = '16'] = process.argv.slice(2);
if (directory === undefined) throw new Error('usage: store-crash-child.ts <directory> [count] [concurrency]');
const count = Number(countText);
const policy = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [2, 4, 8], httpStatusRetries: [500] };
const payload = new Uint8Array(1024).fill(42);

const store = await EmbeddedStateStore.open({ directory });
process.stdout.write('ready\n');
let next = 0;
async function client(): Promise<void> {
  while (next < count) {
    const id = `element-${next++}`;
    await store.enqueue('crash', { id, payload, enqueuedAtMs: Date.now(), policy });
    process.stdout.write(`committed ${id}\n`);
  }
}
await Promise.all(Array.from({ length: Number(concurrencyText) }, client));
process.stdout.write('done\n');
await store.close();
