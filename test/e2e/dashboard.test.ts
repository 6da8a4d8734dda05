import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityFeed } from '../../src/core/activity-feed.js';
import { ActivityTracker } from '../../src/core/activity.js';
import { systemClock } from '../../src/core/clock.js';
import { createApp } from '../../src/http/create-app.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { StaticFiles } from '../../src/http/static-files.js';
import { StatusStream } from '../../src/http/status-stream.js';
import { MemoryOrchestrator } from '../../src/orchestrators/memory/memory-orchestrator.js';
import { ScalerWorker } from '../../src/workers/scaler-worker.js';
import { recordingLogger } from '../contracts/orchestrator-contract.js';
import { launchChromium } from '../helpers/browser.js';
import { FN_SERVER, REPO_ROOT, startSlimFaas, type SlimFaasProcess } from '../helpers/slimfaas-process.js';
import { testFunctionSpec } from '../helpers/test-function-spec.js';
import { waitUntil } from '../helpers/wait-until.js';

/** Port range 47000–47099 is this file's (replica processes: 47000–47049). */

const IMAGES = join(REPO_ROOT, 'docs', 'images');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let browser: Browser;
let sf: SlimFaasProcess;

function fnEntry(name: string, annotations: string): string {
  return `
  ${name}:
    command: [node, ${FN_SERVER}]
    environment: { TEST_FUNCTION: ${name} }
    annotations:
${annotations}
    health: { path: /health }`;
}

beforeAll(async () => {
  browser = await launchChromium();
  sf = await startSlimFaas(`
schemaVersion: 1
name: e2e-dashboard
processPorts: { from: 47000, to: 47049 }
state: { mode: ephemeral }
functions:${fnEntry('sleepy', '      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "120"')}${fnEntry(
    'worker',
    `      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "120"
      SlimFaas/NumberParallelRequest: "2"`,
  )}${fnEntry(
    'secret',
    `      SlimFaas/DefaultVisibility: Private
      SlimFaas/TimeoutSecondBeforeSetReplicasMin: "120"`,
  )}
`);
  mkdirSync(IMAGES, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await sf?.stop();
});

/** A page that fails the test on any script error. */
async function openDashboard(url: string, viewport = DESKTOP): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${url}/`);
  await page.waitForSelector('#connection[data-connection="live"]', { timeout: 20_000 });
  return { page, errors };
}

/** The page's globals used inside `waitForFunction` (the page's CSP forbids evaluating strings there). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

const row = (name: string): string => `tr[data-function="${name}"]`;

describe('the dashboard against `slimfaas up` with real function processes', () => {
  it('loads, lists every function (private ones marked) and shows a function at zero as asleep', async () => {
    const { page, errors } = await openDashboard(sf.url);
    expect(await page.title()).toBe('SlimFaas dashboard');
    await page.waitForSelector(row('sleepy'));
    expect(await page.getAttribute(row('sleepy'), 'data-state')).toBe('asleep');
    expect(await page.textContent(`${row('sleepy')} td:nth-child(3)`)).toBe('0 / 0');
    expect(await page.textContent(`${row('secret')} td:nth-child(4)`)).toBe('Private');
    expect(await page.textContent('#nodes li')).toContain('leader');
    expect(await page.textContent('#jobs')).toContain('No job configured');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('wakes a function from its button (keyboard) and shows it ready without a reload', async () => {
    const { page, errors } = await openDashboard(sf.url);
    await page.evaluate('window.marker = 42');
    const button = `button[data-wake="sleepy"]`;
    await page.waitForSelector(`${button}:not([disabled])`);
    await page.focus(button);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${row('sleepy')}[data-state="ready"]`, { timeout: 30_000 });
    expect(await page.textContent(`${row('sleepy')} td:nth-child(3)`)).toBe('1 / 1');
    expect(await page.textContent(`${row('sleepy')} td:nth-child(8)`)).toBe('request');
    expect(await page.textContent(`${row('sleepy')} td:nth-child(7)`)).toMatch(/min|s$/);
    // The same document: updates came from the stream, not a reload.
    expect(await page.evaluate('window.marker')).toBe(42);
    const feed = await page.textContent('#feed');
    expect(feed).toContain('waking sleepy');
    expect(feed).toContain('sleepy scaled 0 → 1');
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(IMAGES, 'dashboard-desktop.png'), fullPage: true });
    await page.close();
  });

  it('shows an async burst filling the queue, then draining', async () => {
    const { page, errors } = await openDashboard(sf.url);
    await page.waitForSelector(row('worker'));
    const queue = `${row('worker')} td:nth-child(5)`;
    const seen: string[] = [];
    const burst = Array.from({ length: 16 }, () =>
      fetch(`${sf.url}/async-function/worker/delay?ms=400`, { method: 'POST' }).then((r) => r.status),
    );
    expect(await Promise.all(burst)).toEqual(Array(16).fill(202));
    // Filled: the page shows work queued or in flight.
    await waitUntil(
      async () => {
        const value = (await page.getAttribute(queue, 'data-queue')) ?? '';
        seen.push(value);
        const [ready = 0, inFlight = 0] = value.split(',').map(Number);
        return ready + inFlight > 2;
      },
      { timeoutMs: 20_000, message: 'the queue to fill on the page' },
    );
    await page.setViewportSize(PHONE);
    await page.locator(row('worker')).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(IMAGES, 'dashboard-phone.png'), fullPage: false });
    await page.setViewportSize(DESKTOP);
    // Drained: every element delivered (16 × 400 ms at 2 in parallel ≈ 3.2 s of work).
    await page.waitForSelector(`${queue}[data-queue="0,0,0,0"]`, { timeout: 40_000 });
    expect(await page.getAttribute(row('worker'), 'data-state')).toBe('ready');
    expect(await page.textContent('#feed')).toContain('async attempt on worker');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the dashboard with 1,000 functions', () => {
  let server: RunningServer;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const names = Array.from({ length: 1000 }, (_, i) => `fn-${String(i).padStart(4, '0')}`);
    const orchestrator = new MemoryOrchestrator({
      functions: names.map((n) => ({ spec: testFunctionSpec(n) })),
    });
    const clock = systemClock;
    const activity = new ActivityTracker(clock);
    const feed = new ActivityFeed({ clock });
    const logger = recordingLogger();
    const scaler = new ScalerWorker({
      orchestrator,
      activity,
      feed,
      clock,
      logger,
      intervalMs: 200,
      scaledUpByDefaultWhenNeverCalled: false,
    });
    const stream = new StatusStream({
      orchestrator,
      activity,
      feed,
      clock,
      logger,
      nodeId: 'node-1000',
      isReady: () => true,
      settings: { maxClients: 5, stateIntervalMs: 1000, changeDelayMs: 100 },
    });
    const app = createApp({
      orchestrator,
      activity,
      waker: scaler,
      logger,
      clock,
      feed,
      statusStream: stream,
      ui: StaticFiles.load(join(REPO_ROOT, 'src', 'ui')),
      settings: { maxHeldRequestsPerFunction: 10, maxRequestBodyBytes: 1024, requestLogLevel: 'debug' },
      isReady: () => true,
    });
    await orchestrator.start();
    scaler.start();
    for (const name of names.slice(0, 1000).filter((_, i) => i % 7 === 0)) scaler.wake(name);
    server = await startServer(app.handle, { host: '127.0.0.1', port: 0 });
    close = async () => {
      await server.close(100);
      scaler.close();
      await app.close();
      await orchestrator.close();
    };
  });

  afterAll(async () => {
    await close?.();
  });

  it('renders one page of rows, filters by name and pages with the keyboard, without overflowing a phone', async () => {
    const { page, errors } = await openDashboard(server.url);
    await page.waitForFunction(() => document.querySelector('#total-functions')?.textContent === '1000');
    expect(await page.locator('#function-rows tr').count()).toBe(50);
    expect(await page.textContent('#page-info')).toBe('Page 1 of 20');
    // Woken functions (every 7th) become ready through the stream.
    await page.waitForFunction(() => document.querySelector('#total-awake')?.textContent === '143', null, {
      timeout: 30_000,
    });
    await page.screenshot({ path: join(IMAGES, 'dashboard-1000-functions.png') });
    // Search from the keyboard.
    await page.focus('#search');
    await page.keyboard.type('fn-0999');
    await page.waitForFunction(() => document.querySelectorAll('#function-rows tr').length === 1);
    expect(await page.getAttribute('#function-rows tr', 'data-function')).toBe('fn-0999');
    expect(await page.textContent('#match-count')).toBe('1 of 1000 functions match');
    // Clear, then filter the awake ones and page forward with the keyboard.
    await page.fill('#search', '');
    await page.selectOption('#state-filter', 'awake');
    await page.waitForFunction(
      () => document.querySelector('#match-count')?.textContent === '143 of 1000 functions match',
    );
    await page.focus('#next-page');
    await page.keyboard.press('Enter');
    expect(await page.textContent('#page-info')).toBe('Page 2 of 3');
    const rows = await page.locator('#function-rows tr').all();
    const states = await Promise.all(rows.map((r) => r.getAttribute('data-state')));
    expect(states.length).toBe(50);
    expect(new Set(states)).toEqual(new Set(['ready']));
    // A phone: cards, nothing wider than the screen.
    await page.setViewportSize(PHONE);
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
