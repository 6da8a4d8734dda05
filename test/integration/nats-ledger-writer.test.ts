import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerWriter } from '../../src/stores/nats/ledger-writer.js';
import { ledgerKey } from '../../src/stores/nats/nats-resources.js';
import type { Ledger, LedgerEntry } from '../../src/stores/nats/queue-ledger.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const POLICY = { httpTimeoutSeconds: 30, timeoutRetriesSeconds: [], httpStatusRetries: [] };

function entry(id: string, seq: number): LedgerEntry {
  return {
    id,
    seq,
    ackSubject: `$JS.ACK.x.${seq}`,
    enqueuedAtMs: 0,
    policy: POLICY,
    payloadBytes: 0,
    attempts: 0,
    history: [],
    state: 'ready',
  };
}

const add = (id: string, seq: number) => (ledger: Ledger) => {
  ledger[id] = entry(id, seq);
  return { result: id, write: true };
};

describe('LedgerWriter (group commit of a queue ledger, real nats-server)', () => {
  let server: NatsServer;
  const connections: NatsConnection[] = [];
  let kvA: KV;
  let kvB: KV;

  const openKv = async (): Promise<KV> => {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    return new Kvm(jetstream(nc)).create('ledger_writer_test', { history: 1, allow_direct: false });
  };
  const stored = async (queue: string) => {
    const got = await kvA.get(ledgerKey(queue));
    return { ids: Object.keys(got?.json<Ledger>() ?? {}).sort(), revision: got?.revision ?? 0 };
  };

  beforeAll(async () => {
    server = await startNatsServer();
    kvA = await openKv();
    kvB = await openKv();
  });
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await server?.stop();
  });

  it('applies concurrent changes in one compare-and-set per batch and settles each with its result', async () => {
    const writer = new LedgerWriter(kvA);
    const writesBefore = await bucketWrites(kvA);
    const ids = Array.from({ length: 20 }, (_, i) => `e${String(i).padStart(2, '0')}`);
    const results = await Promise.all(ids.map((id, i) => writer.update('batched', add(id, i + 1))));
    expect(results).toEqual(ids);
    expect((await stored('batched')).ids).toEqual(ids);
    // The first change starts a write alone; the 19 submitted meanwhile share the next one.
    expect((await bucketWrites(kvA)) - writesBefore).toBe(2);
  });

  it('re-reads and re-applies when another writer changed the ledger it remembered', async () => {
    const a = new LedgerWriter(kvA);
    const b = new LedgerWriter(kvB);
    await a.update('shared', add('a1', 1));
    await b.update('shared', add('b1', 2));
    // a's remembered copy (revision of a1) is stale: its compare-and-set fails, it reads b1 and keeps it.
    await a.update('shared', add('a2', 3));
    expect((await stored('shared')).ids).toEqual(['a1', 'a2', 'b1']);
  });

  it('trusts a result that writes nothing only when it was computed on a fresh read', async () => {
    const a = new LedgerWriter(kvA);
    const b = new LedgerWriter(kvB);
    await a.update('read-only', add('x', 1));
    await b.update('read-only', (ledger) => {
      delete ledger.x;
      return { result: undefined, write: true };
    });
    const seen = await a.update('read-only', (ledger) => ({ result: ledger.x !== undefined, write: false }));
    expect(seen).toBe(false);
  });

  it('rejects only the change that threw; the others of its batch are written', async () => {
    const writer = new LedgerWriter(kvA);
    const first = writer.update('throwing', add('first', 1));
    const results = await Promise.allSettled([
      writer.update('throwing', add('kept', 2)),
      writer.update('throwing', (ledger) => {
        ledger.broken = entry('broken', 3);
        throw new Error('change failed');
      }),
      writer.update('throwing', add('kept-too', 4)),
    ]);
    await first;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await stored('throwing')).ids).toEqual(['first', 'kept', 'kept-too']);
  });
});

/** Messages ever written to the bucket's stream (every KV write is one). */
async function bucketWrites(kv: KV): Promise<number> {
  const status = await kv.status();
  return status.streamInfo.state.last_seq;
}
