// DOM rendering. Rows are keyed by function name and updated in place, so a focused button keeps its focus
// when a state frame arrives; only the current page is in the DOM (usable with thousands of functions).
import { REASON_TEXT, ago, duration, pick } from './model.js';

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

const STATE_TEXT = {
  asleep: 'asleep',
  waking: 'waking…',
  ready: 'ready',
  partial: 'scaling',
  failing: 'failing',
};

const COLUMNS = [
  'Function',
  'State',
  'Replicas',
  'Visibility',
  'Queue',
  'Last activity',
  'Scale-down in',
  'Awake because',
];

export class FunctionTable {
  constructor({ onWake }) {
    this.body = $('function-rows');
    this.rows = new Map();
    this.onWake = onWake;
    /** Wake buttons clicked recently: name → until (local ms), a 3 s cooldown as in SlimFaas. */
    this.cooldown = new Map();
  }

  render(rows, now) {
    const wanted = new Set(rows.map((r) => r.name));
    for (const [name, tr] of this.rows) {
      if (!wanted.has(name)) {
        tr.remove();
        this.rows.delete(name);
      }
    }
    let previous = null;
    for (const row of rows) {
      let tr = this.rows.get(row.name);
      if (tr === undefined) {
        tr = this.#create(row.name);
        this.rows.set(row.name, tr);
      }
      this.#update(tr, row, now);
      const expected = previous === null ? this.body.firstChild : previous.nextSibling;
      if (expected !== tr) this.body.insertBefore(tr, expected);
      previous = tr;
    }
  }

  /** Refreshes the time columns only (every second, between frames). */
  tick(rowsByName, now) {
    for (const [name, tr] of this.rows) {
      const row = rowsByName(name);
      if (row !== undefined) this.#times(tr, row, now);
    }
  }

  #create(name) {
    const tr = el('tr', { 'data-function': name });
    COLUMNS.forEach((label) => tr.append(el('td', { 'data-label': label })));
    const [nameCell] = tr.children;
    nameCell.append(el('span', { class: 'fn-name' }, name), el('span', { class: 'pod-type muted' }));
    const action = el('td', { class: 'action' });
    const button = el('button', { type: 'button', class: 'button wake', 'data-wake': name }, 'Wake');
    button.setAttribute('aria-label', `Wake ${name}`);
    button.addEventListener('click', () => {
      this.cooldown.set(name, Date.now() + 3000);
      button.disabled = true;
      button.textContent = 'Waking…';
      this.onWake(name);
    });
    action.append(button);
    tr.append(action);
    return tr;
  }

  #update(tr, row, now) {
    const cells = tr.children;
    setAttr(tr, 'data-state', row.state);
    setText(cells[0].lastChild, row.podType);
    const badge = cells[1];
    setText(badge, row.failure ? `${STATE_TEXT[row.state]} (${row.failure})` : STATE_TEXT[row.state]);
    setAttr(badge, 'class', `state state-${row.state}`);
    setText(cells[2], `${row.ready} / ${row.requested}`);
    setText(cells[3], row.visibility);
    setAttr(cells[3], 'class', row.visibility === 'Private' ? 'private' : '');
    const q = row.queue;
    setText(cells[4], `${q.ready} / ${q.inFlight} / ${q.retry} / ${q.dead}`);
    setAttr(cells[4], 'data-queue', `${q.ready},${q.inFlight},${q.retry},${q.dead}`);
    setAttr(
      cells[4],
      'class',
      q.dead > 0 ? 'queue has-dead' : q.ready + q.inFlight + q.retry > 0 ? 'queue busy' : 'queue',
    );
    setText(cells[7], row.reason === null ? '–' : (REASON_TEXT[row.reason] ?? row.reason));
    this.#times(tr, row, now);
    const button = cells[8].firstChild;
    const cooling = (this.cooldown.get(row.name) ?? 0) > Date.now();
    if (!cooling) this.cooldown.delete(row.name);
    const disabled = row.ready > 0 || (cooling && row.state !== 'asleep') || row.state === 'waking';
    if (button.disabled !== disabled) button.disabled = disabled;
    setText(button, row.ready > 0 ? 'Awake' : row.state === 'waking' || cooling ? 'Waking…' : 'Wake');
  }

  #times(tr, row, now) {
    const cells = tr.children;
    setText(cells[5], ago(row.lastActivityMs, now));
    let left = '–';
    if (row.scaleDownAtMs !== null) left = duration(Math.max(0, row.scaleDownAtMs - now));
    else if (row.ready > 0 && (row.inFlight > 0 || row.reason === 'queue')) left = 'busy';
    setText(cells[6], left);
  }
}

const FEED_LIMIT = 100;

function describe(event) {
  const type = pick(event, 'Type');
  const fn = pick(event, 'Function');
  const replica = pick(event, 'Replica');
  const on = replica ? ` on ${replica}` : '';
  switch (type) {
    case 'request_in':
      return `request to ${fn}`;
    case 'request_out': {
      const status = pick(event, 'Status');
      return `${fn} answered ${status ?? pick(event, 'Error') ?? ''}${on}`;
    }
    case 'enqueue':
      return `async request queued for ${fn}`;
    case 'dequeue':
      return `async request sent to ${fn}${on} (attempt ${pick(event, 'Attempt') ?? 1})`;
    case 'attempt_end':
      return `async attempt on ${fn}${on}: ${pick(event, 'Outcome')}${pick(event, 'Status') ? ` (${pick(event, 'Status')})` : ''}`;
    case 'event_publish':
      return `event ${pick(event, 'Event') ?? ''} delivered to ${fn}${on}`;
    case 'wake':
      return `waking ${fn}`;
    case 'scale_up':
    case 'scale_down':
      return `${fn} scaled ${pick(event, 'From')} → ${pick(event, 'To')} (${pick(event, 'Reason')})`;
    default:
      return `${type} ${fn}`;
  }
}

export class ActivityList {
  constructor() {
    this.list = $('feed');
    this.paused = false;
    this.pending = [];
    this.scheduled = false;
  }

  add(events, filter) {
    if (this.paused) return;
    for (const e of events) if (filter(pick(e, 'Function') ?? '')) this.pending.push(e);
    if (this.pending.length > FEED_LIMIT) this.pending.splice(0, this.pending.length - FEED_LIMIT);
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.#flush());
  }

  #flush() {
    this.scheduled = false;
    const fragment = document.createDocumentFragment();
    for (const event of this.pending.splice(0).reverse()) {
      const type = pick(event, 'Type') ?? '';
      const li = el('li', {
        class: `activity type-${type}`,
        'data-type': type,
        'data-function': pick(event, 'Function') ?? '',
      });
      const time = new Date(pick(event, 'TimestampMs') ?? Date.now());
      li.append(
        el('time', { datetime: time.toISOString() }, time.toLocaleTimeString()),
        document.createTextNode(` ${describe(event)}`),
      );
      fragment.append(li);
    }
    this.list.prepend(fragment);
    while (this.list.childElementCount > FEED_LIMIT) this.list.lastElementChild.remove();
  }
}

export function renderNodes(nodes) {
  const list = $('nodes');
  list.replaceChildren(
    ...nodes.map((node) => {
      const leader = pick(node, 'Leader') === true;
      const li = el('li', { 'data-node': pick(node, 'Name'), 'data-leader': String(leader) });
      li.append(
        el('span', { class: 'node-name' }, pick(node, 'Name')),
        el('span', { class: 'muted' }, ` ${pick(node, 'Status')}`),
      );
      if (leader) li.append(el('span', { class: 'badge leader' }, 'leader'));
      return li;
    }),
  );
}

export function renderJobs(jobs) {
  const root = $('jobs');
  if (!Array.isArray(jobs) || jobs.length === 0) {
    root.replaceChildren(el('p', { class: 'muted' }, 'No job configured.'));
    return;
  }
  root.replaceChildren(
    ...jobs.map((job) => {
      const section = el('article', { class: 'job', 'data-job': pick(job, 'Name') ?? '' });
      const runs = pick(job, 'RunningJobs') ?? pick(job, 'Runs') ?? [];
      const schedules = pick(job, 'Schedules') ?? [];
      section.append(
        el('h3', {}, `${pick(job, 'Name')} `),
        el(
          'p',
          { class: 'muted' },
          `${pick(job, 'Visibility') ?? ''} · ${pick(job, 'Image') ?? ''} · ${runs.length} run(s) · ${schedules.length} schedule(s)`,
        ),
      );
      if (runs.length > 0) {
        const ul = el('ul', { class: 'runs' });
        for (const run of runs) {
          const started = pick(run, 'StartTimestamp');
          const when =
            typeof started === 'number' && started > 0
              ? new Date(started > 1e12 ? started : started * 1000).toLocaleTimeString()
              : 'not started';
          ul.append(
            el(
              'li',
              { 'data-run': pick(run, 'Name') ?? '' },
              `${pick(run, 'Name')} — ${pick(run, 'Status')} — ${when}`,
            ),
          );
        }
        section.append(ul);
      }
      return section;
    }),
  );
}

export function renderTotals(totals) {
  setText($('total-functions'), String(totals.functions));
  setText($('total-awake'), String(totals.awake));
  setText($('total-replicas'), `${totals.ready} / ${totals.requested}`);
  setText($('total-queued'), String(totals.queued));
}
