import Database from 'better-sqlite3';

/** Element states. `available_at_ms` means notBefore for DELAYED and the lease expiry for LEASED. */
export const READY = 0;
export const DELAYED = 1;
export const LEASED = 2;
export const DEAD = 3;

// `seq` is the rowid: FIFO position, assigned at enqueue and kept across retries. (queue, id) is the
// idempotency key. The two indexes serve the only scans on the hot path: "oldest ready of a queue" and
// "due retries / expired leases of a queue".
const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_elements (
  seq INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  payload BLOB NOT NULL,
  enqueued_at_ms INTEGER NOT NULL,
  policy TEXT NOT NULL,
  max_attempts INTEGER NOT NULL,
  state INTEGER NOT NULL,
  available_at_ms INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  history TEXT NOT NULL DEFAULT '[]',
  lease_token TEXT,
  lease_owner TEXT,
  dead_at_ms INTEGER,
  UNIQUE (queue, id)
);
CREATE INDEX IF NOT EXISTS queue_elements_fifo ON queue_elements (queue, state, seq);
CREATE INDEX IF NOT EXISTS queue_elements_due ON queue_elements (queue, state, available_at_ms);
CREATE TABLE IF NOT EXISTS activity (name TEXT PRIMARY KEY, last_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS key_values (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at_ms INTEGER);
CREATE INDEX IF NOT EXISTS key_values_expiry ON key_values (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
`;

const ELEMENT = 'seq, id, payload, enqueued_at_ms, policy, max_attempts, attempts';
const END_ATTEMPT = `history = json_set(history, '$[#-1].endedAtMs', @endedAtMs,
  '$[#-1].status', @status, '$[#-1].error', @error)`;
const LEASED_BY = 'queue = @queue AND id = @id AND state = 2 AND lease_token = @leaseToken';

/** Opens the database file with the durability settings every acknowledgement relies on. */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  // WAL: readers never block the writer and a commit is one sequential append. synchronous = FULL fsyncs the
  // WAL at every commit, so a resolved enqueue (and the 202 sent after it) survives a power loss.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = OFF');
  db.exec(SCHEMA);
  return db;
}

export interface ElementRow {
  seq: number;
  id: string;
  payload: Uint8Array;
  enqueued_at_ms: number;
  policy: string;
  max_attempts: number;
  attempts: number;
}

export function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare(`INSERT OR IGNORE INTO queue_elements
      (queue, id, payload, enqueued_at_ms, policy, max_attempts, state)
      VALUES (@queue, @id, @payload, @enqueuedAtMs, @policy, @maxAttempts, 0)`),
    expiredLeases: db.prepare<
      { queue: string; nowMs: number },
      { seq: number; attempts: number; max_attempts: number; available_at_ms: number }
    >(
      `SELECT seq, attempts, max_attempts, available_at_ms FROM queue_elements
       WHERE queue = @queue AND state = 2 AND available_at_ms <= @nowMs ORDER BY seq`,
    ),
    reclaim: db.prepare(`UPDATE queue_elements SET state = @state, lease_token = NULL, lease_owner = NULL,
      dead_at_ms = @deadAtMs, available_at_ms = 0, ${END_ATTEMPT} WHERE seq = @seq`),
    promoteDue: db.prepare(`UPDATE queue_elements SET state = 0, available_at_ms = 0
      WHERE queue = @queue AND state = 1 AND available_at_ms <= @nowMs`),
    oldestReady: db.prepare<{ queue: string; max: number }, ElementRow>(
      `SELECT ${ELEMENT} FROM queue_elements WHERE queue = @queue AND state = 0 ORDER BY seq LIMIT @max`,
    ),
    markLeased: db.prepare(`UPDATE queue_elements SET state = 2, attempts = attempts + 1,
      available_at_ms = @expiresAtMs, lease_token = @leaseToken, lease_owner = @owner,
      history = json_insert(history, '$[#]', json_object('startedAtMs', @nowMs)) WHERE seq = @seq`),
    nextAvailable: db.prepare<{ queue: string; state: number }, { at: number | null }>(
      'SELECT MIN(available_at_ms) AS at FROM queue_elements WHERE queue = @queue AND state = @state',
    ),
    complete: db.prepare(`DELETE FROM queue_elements WHERE ${LEASED_BY}`),
    retryLater: db.prepare(`UPDATE queue_elements SET state = 1, available_at_ms = @notBeforeMs,
      lease_token = NULL, lease_owner = NULL, ${END_ATTEMPT} WHERE ${LEASED_BY}`),
    deadLetter: db.prepare(`UPDATE queue_elements SET state = 3, available_at_ms = 0, dead_at_ms = @endedAtMs,
      lease_token = NULL, lease_owner = NULL, ${END_ATTEMPT} WHERE ${LEASED_BY}`),
    extendLease: db.prepare(`UPDATE queue_elements SET available_at_ms = @expiresAtMs WHERE ${LEASED_BY}`),
    exists: db.prepare<{ queue: string; id: string }, { seq: number }>(
      'SELECT seq FROM queue_elements WHERE queue = @queue AND id = @id',
    ),
    counts: db.prepare<{ queue: string }, { state: number; n: number }>(
      'SELECT state, COUNT(*) AS n FROM queue_elements WHERE queue = @queue GROUP BY state',
    ),
    queues: db.prepare<[], { queue: string }>(
      'SELECT DISTINCT queue FROM queue_elements WHERE state <> 3 ORDER BY queue',
    ),
    deadLetters: db.prepare<
      { queue: string; limit: number },
      { id: string; enqueued_at_ms: number; dead_at_ms: number; bytes: number; history: string }
    >(`SELECT id, enqueued_at_ms, dead_at_ms, length(payload) AS bytes, history FROM queue_elements
       WHERE queue = @queue AND state = 3 ORDER BY seq LIMIT @limit`),
    // A requeued dead letter goes to the tail: it gets the next rowid, as a new enqueue would.
    requeueDead: db.prepare(`UPDATE queue_elements SET state = 0, attempts = 0, history = '[]',
      dead_at_ms = NULL, seq = (SELECT MAX(seq) + 1 FROM queue_elements)
      WHERE queue = @queue AND id = @id AND state = 3`),
    deleteDead: db.prepare('DELETE FROM queue_elements WHERE queue = @queue AND id = @id AND state = 3'),
    recordActivity: db.prepare(`INSERT INTO activity (name, last_ms) VALUES (@name, @atMs)
      ON CONFLICT (name) DO UPDATE SET last_ms = max(last_ms, excluded.last_ms)`),
    activity: db.prepare<[], { name: string; last_ms: number }>('SELECT name, last_ms FROM activity'),
    getValue: db.prepare<{ key: string; nowMs: number }, { value: Uint8Array }>(
      `SELECT value FROM key_values WHERE key = @key AND (expires_at_ms IS NULL OR expires_at_ms > @nowMs)`,
    ),
    setValue:
      db.prepare(`INSERT INTO key_values (key, value, expires_at_ms) VALUES (@key, @value, @expiresAtMs)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at_ms = excluded.expires_at_ms`),
    deleteValue: db.prepare('DELETE FROM key_values WHERE key = @key'),
    deleteExpired: db.prepare('DELETE FROM key_values WHERE expires_at_ms <= @nowMs'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
