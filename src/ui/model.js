// The dashboard's data, built only from the status stream's frames (docs/dashboard.md). No DOM here.

/** Reads a key in PascalCase or camelCase (SlimFaas's clients accept both). */
export function pick(object, key) {
  if (object == null) return undefined;
  if (key in object) return object[key];
  const camel = key.charAt(0).toLowerCase() + key.slice(1);
  return object[camel];
}

const EMPTY_QUEUE = Object.freeze({ ready: 0, inFlight: 0, retry: 0, dead: 0 });

export class Model {
  constructor() {
    this.functions = new Map();
    this.queues = new Map();
    this.nodes = [];
    this.jobs = [];
    this.queuesError = null;
    /** Server time minus local time, so countdowns use the server's clock. */
    this.offsetMs = 0;
    /** Last activity seen in activity frames since the last state frame, by function. */
    this.recentActivity = new Map();
    this.version = 0;
  }

  /** Local time expressed on the server's clock. */
  now() {
    return Date.now() + this.offsetMs;
  }

  applyState(state) {
    const timestamp = pick(state, 'TimestampMs');
    if (typeof timestamp === 'number') this.offsetMs = timestamp - Date.now();
    const functions = new Map();
    for (const fn of pick(state, 'Functions') ?? []) functions.set(pick(fn, 'Name'), fn);
    this.functions = functions;
    const queues = new Map();
    for (const q of pick(state, 'Queues') ?? []) {
      queues.set(pick(q, 'Name'), {
        ready: pick(q, 'Ready') ?? pick(q, 'Length') ?? 0,
        inFlight: pick(q, 'InFlight') ?? 0,
        retry: pick(q, 'RetryPending') ?? 0,
        dead: pick(q, 'Dead') ?? 0,
      });
    }
    this.queues = queues;
    this.nodes = pick(state, 'SlimFaasNodes') ?? [];
    this.jobs = pick(state, 'Jobs') ?? [];
    this.queuesError = pick(state, 'QueuesError') ?? null;
    this.frontMessage = pick(state, 'FrontEnabled') === false ? pick(state, 'FrontMessage') : null;
    this.recentActivity.clear();
    this.version++;
  }

  /** Request and queue events move the last activity between state frames. */
  applyActivity(event) {
    const name = pick(event, 'Function');
    const type = pick(event, 'Type');
    const at = pick(event, 'TimestampMs');
    if (typeof name !== 'string' || typeof at !== 'number') return;
    if (type === 'scale_up' || type === 'scale_down') return;
    const previous = this.recentActivity.get(name) ?? 0;
    if (at > previous) this.recentActivity.set(name, at);
  }

  row(name) {
    const fn = this.functions.get(name);
    if (fn === undefined) return undefined;
    const ready = pick(fn, 'NumberReady') ?? 0;
    const requested = pick(fn, 'NumberRequested') ?? 0;
    const queue = this.queues.get(name) ?? EMPTY_QUEUE;
    const pods = pick(fn, 'Pods') ?? [];
    const failing = pods.find(
      (p) => !pick(p, 'Ready') && !['Starting', 'Pending'].includes(pick(p, 'Status')),
    );
    let state = 'asleep';
    if (ready > 0) state = ready < requested ? 'partial' : 'ready';
    else if (failing !== undefined) state = 'failing';
    else if (requested > 0) state = 'waking';
    const stateLast = pick(fn, 'LastActivityMs') ?? 0;
    const eventLast = this.recentActivity.get(name) ?? 0;
    let scaleDownAtMs = pick(fn, 'ScaleDownAtMs') ?? null;
    // An activity frame newer than the state postpones the scale-down by as much (approximation until the
    // next state frame, which carries the scaler's exact value).
    if (scaleDownAtMs !== null && eventLast > stateLast && stateLast > 0)
      scaleDownAtMs += eventLast - stateLast;
    return {
      name,
      fn,
      ready,
      requested,
      state,
      failure: failing === undefined ? null : pick(failing, 'Status'),
      visibility: pick(fn, 'Visibility') ?? 'Public',
      podType: pick(fn, 'PodType') ?? '',
      queue,
      lastActivityMs: Math.max(stateLast, eventLast),
      scaleDownAtMs,
      inFlight: pick(fn, 'InFlight') ?? 0,
      reason: pick(fn, 'AwakeReason') ?? null,
    };
  }

  /** Names matching the filters, sorted. */
  select({ search, state, sort }) {
    const needle = search.trim().toLowerCase();
    const rows = [];
    for (const name of this.functions.keys()) {
      if (needle !== '' && !name.toLowerCase().includes(needle)) continue;
      const row = this.row(name);
      if (!matchesState(row, state)) continue;
      rows.push(row);
    }
    const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    if (sort === 'activity') rows.sort((a, b) => b.lastActivityMs - a.lastActivityMs || byName(a, b));
    else if (sort === 'queue') rows.sort((a, b) => depth(b.queue) - depth(a.queue) || byName(a, b));
    else rows.sort(byName);
    return rows;
  }

  totals() {
    let awake = 0;
    let ready = 0;
    let requested = 0;
    let queued = 0;
    for (const fn of this.functions.values()) {
      const r = pick(fn, 'NumberReady') ?? 0;
      ready += r;
      requested += pick(fn, 'NumberRequested') ?? 0;
      if (r > 0) awake++;
    }
    for (const q of this.queues.values()) queued += depth(q);
    return { functions: this.functions.size, awake, ready, requested, queued };
  }
}

function depth(queue) {
  return queue.ready + queue.inFlight + queue.retry;
}

function matchesState(row, state) {
  switch (state) {
    case 'awake':
      return row.ready > 0;
    case 'asleep':
      return row.state === 'asleep';
    case 'waking':
      return row.state === 'waking' || row.state === 'failing';
    case 'queued':
      return depth(row.queue) > 0;
    case 'dead':
      return row.queue.dead > 0;
    default:
      return true;
  }
}

/** "3 s ago", "4 min ago", "never". */
export function ago(ms, now) {
  if (!ms) return 'never';
  return `${duration(Math.max(0, now - ms))} ago`;
}

/** "45 s", "4 min 05 s", "2 h 10 min". */
export function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export const REASON_TEXT = {
  request: 'request',
  queue: 'queued work',
  schedule: 'schedule',
  dependency: 'a dependant is active',
  'any-function-request': 'any function called',
  'default-never-called': 'never called (default up)',
  'min-replicas': 'ReplicasMin',
};
