import { describe, expect, it } from 'vitest';
import { ActivityFeed, type ActivityEvent } from '../../../src/core/activity-feed.js';
import { ManualClock } from '../../../src/core/clock.js';

describe('ActivityFeed', () => {
  it('delivers events stamped with the clock to every listener, in order', () => {
    const clock = new ManualClock(1000);
    const feed = new ActivityFeed({ clock });
    const a: ActivityEvent[] = [];
    const b: ActivityEvent[] = [];
    feed.subscribe((e) => a.push(e));
    feed.subscribe((e) => b.push(e));
    feed.record('request_in', 'fib');
    clock.advance(5);
    feed.record('scale_up', 'fib', undefined, { from: 0, to: 1, reason: 'request' });
    feed.record('request_out', 'fib', 'fib-0', { status: 200 });
    expect(a).toEqual([
      { kind: 'request_in', function: 'fib', timestampMs: 1000 },
      { kind: 'scale_up', function: 'fib', from: 0, to: 1, reason: 'request', timestampMs: 1005 },
      { kind: 'request_out', function: 'fib', replica: 'fib-0', status: 200, timestampMs: 1005 },
    ]);
    expect(b).toEqual(a);
  });

  it('is inactive and reads no clock without listeners; unsubscribing is idempotent', () => {
    let reads = 0;
    const feed = new ActivityFeed({ clock: { now: () => ++reads } });
    expect(feed.active).toBe(false);
    feed.record('request_in', 'fib');
    expect(reads).toBe(0);
    const seen: ActivityEvent[] = [];
    const off = feed.subscribe((e) => seen.push(e));
    expect(feed.active).toBe(true);
    off();
    off();
    expect(feed.active).toBe(false);
    feed.record('request_in', 'fib');
    expect(seen).toEqual([]);
    expect(reads).toBe(0);
  });

  it('refuses listeners beyond its bound', () => {
    const feed = new ActivityFeed({ clock: new ManualClock(), maxListeners: 2 });
    feed.subscribe(() => undefined);
    const off = feed.subscribe(() => undefined);
    expect(() => feed.subscribe(() => undefined)).toThrow(/at most 2 listeners/);
    off();
    expect(() => feed.subscribe(() => undefined)).not.toThrow();
  });

  it('keeps a throwing listener away from the publisher and from the other listeners', () => {
    const errors: unknown[] = [];
    const feed = new ActivityFeed({ clock: new ManualClock(), onListenerError: (e) => errors.push(e) });
    const seen: string[] = [];
    feed.subscribe(() => {
      throw new Error('boom');
    });
    feed.subscribe((e) => seen.push(e.kind));
    expect(() => feed.record('wake', 'fib')).not.toThrow();
    expect(seen).toEqual(['wake']);
    expect(errors).toHaveLength(1);
  });
});
