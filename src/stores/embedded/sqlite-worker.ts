import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { SqliteEngine } from './sqlite-engine.js';
import { toFailure, type StoreOp } from './store-ops.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

// The database worker: owns the only connection. Every message that arrived while the previous commit was
// fsyncing is drained at once and committed in one transaction, so the batch size grows with the load.
const port = parentPort;
if (port === null) throw new Error('sqlite-worker must run in a worker thread');
const { file } = workerData as WorkerInit;
const send = (message: FromWorker) => port.postMessage(message);

let engine: SqliteEngine | undefined;
try {
  engine = new SqliteEngine(file);
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'open-failed', error: toFailure(error) });
  port.close();
}

port.on('message', (first: ToWorker) => {
  const messages = [first];
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    messages.push(m.message as ToWorker);
  }
  const batches = messages.filter((m) => m.type === 'batch');
  if (engine !== undefined && batches.length > 0) runBatches(engine, batches);
  if (messages.some((m) => m.type === 'close')) {
    engine?.close();
    engine = undefined;
    send({ type: 'closed' });
    port.close();
  }
});

function runBatches(
  db: SqliteEngine,
  batches: readonly { batchId: number; ops: readonly StoreOp[] }[],
): void {
  try {
    const outcomes = db.runBatch(batches.flatMap((b) => b.ops));
    let offset = 0;
    for (const b of batches) {
      send({ type: 'results', batchId: b.batchId, outcomes: outcomes.slice(offset, offset + b.ops.length) });
      offset += b.ops.length;
    }
  } catch (error) {
    const failure = toFailure(error);
    for (const b of batches) send({ type: 'batch-failed', batchId: b.batchId, error: failure });
  }
}
