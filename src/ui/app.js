// The dashboard: one EventSource on /status-functions-stream (it reconnects by itself), no polling.
import { Model } from './model.js';
import { ActivityList, FunctionTable, renderJobs, renderNodes, renderTotals } from './view.js';

const $ = (id) => document.getElementById(id);
const model = new Model();
const ui = { search: '', state: 'all', sort: 'name', page: 0, pageSize: 50 };
let visible = [];

const table = new FunctionTable({ onWake: (name) => post(`/wake-function/${encodeURIComponent(name)}`) });
const feed = new ActivityList();

async function post(path) {
  try {
    const res = await fetch(path, { method: 'POST' });
    if (!res.ok) showBanner(`${path} answered ${res.status}`);
  } catch (error) {
    showBanner(`${path} failed: ${error.message}`);
  }
}

function showBanner(text) {
  const banner = $('banner');
  banner.hidden = text === null;
  if (text !== null) banner.textContent = text;
}

function render() {
  const rows = model.select(ui);
  const pages = Math.max(1, Math.ceil(rows.length / ui.pageSize));
  ui.page = Math.min(ui.page, pages - 1);
  visible = rows.slice(ui.page * ui.pageSize, (ui.page + 1) * ui.pageSize);
  table.render(visible, model.now());
  $('page-info').textContent = `Page ${ui.page + 1} of ${pages}`;
  $('prev-page').disabled = ui.page === 0;
  $('next-page').disabled = ui.page >= pages - 1;
  const total = model.functions.size;
  $('match-count').textContent =
    rows.length === total ? `${total} functions` : `${rows.length} of ${total} functions match`;
  const totals = model.totals();
  renderTotals(totals);
  $('wake-all').disabled = totals.functions === 0 || totals.awake === totals.functions;
}

let renderScheduled = false;
function scheduleRender() {
  if (renderScheduled) return;
  renderScheduled = true;
  requestAnimationFrame(() => {
    renderScheduled = false;
    render();
  });
}

function feedFilter(name) {
  const needle = ui.search.trim().toLowerCase();
  return needle === '' || name.toLowerCase().includes(needle);
}

function setConnection(state, text) {
  const node = $('connection');
  node.dataset.connection = state;
  node.textContent = text;
}

function connect() {
  const source = new EventSource('/status-functions-stream');
  source.addEventListener('open', () => setConnection('live', 'Live'));
  source.addEventListener('error', () => {
    // EventSource retries by itself (the server sends `retry:`); a 429 closes it for good, so retry later.
    if (source.readyState === EventSource.CLOSED) {
      setConnection('offline', 'Disconnected; retrying…');
      setTimeout(connect, 5000);
    } else setConnection('reconnecting', 'Reconnecting…');
  });
  source.addEventListener('state', (message) => {
    const state = JSON.parse(message.data);
    model.applyState(state);
    const recent = state.RecentActivity ?? state.recentActivity ?? [];
    if (recent.length > 0) feed.add(recent, feedFilter);
    renderNodes(model.nodes);
    renderJobs(model.jobs);
    showBanner(model.queuesError ?? model.frontMessage ?? null);
    setConnection('live', 'Live');
    scheduleRender();
  });
  const onActivity = (events) => {
    for (const event of events) model.applyActivity(event);
    feed.add(events, feedFilter);
    scheduleRender();
  };
  source.addEventListener('activity', (message) => onActivity([JSON.parse(message.data)]));
  source.addEventListener('activity_batch', (message) => onActivity(JSON.parse(message.data)));
}

function bindControls() {
  let searchTimer;
  $('search').addEventListener('input', (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      ui.search = event.target.value;
      ui.page = 0;
      render();
    }, 120);
  });
  $('state-filter').addEventListener('change', (event) => {
    ui.state = event.target.value;
    ui.page = 0;
    render();
  });
  $('sort').addEventListener('change', (event) => {
    ui.sort = event.target.value;
    render();
  });
  $('page-size').addEventListener('change', (event) => {
    ui.pageSize = Number(event.target.value);
    ui.page = 0;
    render();
  });
  $('prev-page').addEventListener('click', () => {
    ui.page = Math.max(0, ui.page - 1);
    render();
  });
  $('next-page').addEventListener('click', () => {
    ui.page += 1;
    render();
  });
  $('wake-all').addEventListener('click', () => {
    const button = $('wake-all');
    button.disabled = true;
    setTimeout(() => scheduleRender(), 3000);
    void post('/wake-functions');
  });
  $('pause-feed').addEventListener('click', (event) => {
    feed.paused = !feed.paused;
    event.target.setAttribute('aria-pressed', String(feed.paused));
    event.target.textContent = feed.paused ? 'Resume' : 'Pause';
  });
}

bindControls();
connect();
// Times (last activity, scale-down countdown) move every second between frames; nothing is fetched.
setInterval(
  () => table.tick((name) => visible.find((r) => r.name === name) && model.row(name), model.now()),
  1000,
);
