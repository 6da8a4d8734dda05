import { describe, expect, it } from 'vitest';
import type { FunctionSchedule } from '../../../src/core/function-spec.js';
import {
  canonicalTimeZone,
  lastWakeUp,
  scaleDownTimeoutSeconds,
  zonedLocalTimeToUtc,
} from '../../../src/core/schedule.js';

const at = (iso: string): number => Date.parse(iso);

function schedule(
  timeZoneId: string,
  wakeUp: readonly string[],
  scaleDownTimeout: readonly [string, number][] = [],
): FunctionSchedule {
  const time = (hhmm: string) => {
    const [hour = 0, minute = 0] = hhmm.split(':').map(Number);
    return { hour, minute };
  };
  return {
    timeZoneId,
    wakeUp: wakeUp.map(time),
    scaleDownTimeout: scaleDownTimeout.map(([t, valueSeconds]) => ({ time: time(t), valueSeconds })),
  };
}

describe('zonedLocalTimeToUtc', () => {
  const utc = (year: number, month: number, day: number, hour: number, minute: number, zone: string) =>
    new Date(zonedLocalTimeToUtc({ year, month, day, hour, minute }, zone)).toISOString();

  it('converts with the standard offset in winter and the DST offset in summer', () => {
    expect(utc(2026, 1, 15, 7, 0, 'Europe/Paris')).toBe('2026-01-15T06:00:00.000Z');
    expect(utc(2026, 7, 1, 7, 0, 'Europe/Paris')).toBe('2026-07-01T05:00:00.000Z');
    expect(utc(2026, 1, 15, 7, 0, 'America/New_York')).toBe('2026-01-15T12:00:00.000Z');
    expect(utc(2026, 1, 15, 7, 0, 'UTC')).toBe('2026-01-15T07:00:00.000Z');
  });

  it('handles half-hour offsets and local dates that are the previous UTC day', () => {
    expect(utc(2026, 1, 1, 0, 0, 'Asia/Kolkata')).toBe('2025-12-31T18:30:00.000Z');
  });

  it('maps a time in the spring-forward gap to the first instant after the gap', () => {
    // Paris 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z.
    expect(utc(2026, 3, 29, 1, 59, 'Europe/Paris')).toBe('2026-03-29T00:59:00.000Z');
    expect(utc(2026, 3, 29, 2, 0, 'Europe/Paris')).toBe('2026-03-29T01:00:00.000Z');
    expect(utc(2026, 3, 29, 2, 30, 'Europe/Paris')).toBe('2026-03-29T01:00:00.000Z');
    expect(utc(2026, 3, 29, 3, 0, 'Europe/Paris')).toBe('2026-03-29T01:00:00.000Z');
    // New York 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z.
    expect(utc(2026, 3, 8, 2, 30, 'America/New_York')).toBe('2026-03-08T07:00:00.000Z');
    // Lord Howe Island moves by 30 minutes: 02:00 → 02:30 at 15:30Z the day before.
    expect(utc(2026, 10, 4, 2, 15, 'Australia/Lord_Howe')).toBe('2026-10-03T15:30:00.000Z');
  });

  it('maps an ambiguous fall-back time to the earlier of its two instants', () => {
    // Paris 2026-10-25: 03:00 CEST goes back to 02:00 CET at 01:00Z; 02:30 happens at 00:30Z and 01:30Z.
    expect(utc(2026, 10, 25, 2, 30, 'Europe/Paris')).toBe('2026-10-25T00:30:00.000Z');
    expect(utc(2026, 10, 25, 3, 0, 'Europe/Paris')).toBe('2026-10-25T02:00:00.000Z');
    // New York 2026-11-01: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
    expect(utc(2026, 11, 1, 1, 30, 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
    expect(utc(2026, 4, 5, 1, 45, 'Australia/Lord_Howe')).toBe('2026-04-04T14:45:00.000Z');
  });
});

describe('canonicalTimeZone', () => {
  it('returns the canonical IANA id and rejects unknown zones', () => {
    expect(canonicalTimeZone('europe/paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeUndefined();
  });
});

describe('lastWakeUp', () => {
  it('is undefined without a schedule or without wake-up times', () => {
    expect(lastWakeUp(undefined, at('2026-01-15T12:00:00Z'))).toBeUndefined();
    expect(lastWakeUp(schedule('Europe/Paris', []), at('2026-01-15T12:00:00Z'))).toBeUndefined();
  });

  it("returns today's wake-up once its local time has passed, including the exact instant", () => {
    const paris = schedule('Europe/Paris', ['07:00']);
    expect(lastWakeUp(paris, at('2026-01-15T08:00:00Z'))).toBe(at('2026-01-15T06:00:00Z'));
    expect(lastWakeUp(paris, at('2026-01-15T06:00:00Z'))).toBe(at('2026-01-15T06:00:00Z'));
  });

  it("returns yesterday's wake-up while today's is still in the future", () => {
    const paris = schedule('Europe/Paris', ['07:00']);
    expect(lastWakeUp(paris, at('2026-01-15T05:59:00Z'))).toBe(at('2026-01-14T06:00:00Z'));
  });

  it('picks the latest passed wake-up among several, whatever their order', () => {
    const paris = schedule('Europe/Paris', ['18:00', '07:00', '12:00']);
    expect(lastWakeUp(paris, at('2026-01-15T12:00:00Z'))).toBe(at('2026-01-15T11:00:00Z'));
  });

  it('uses the local date just after local midnight east of UTC (SlimFaas used the UTC date)', () => {
    // 00:10 in Paris on the 16th is 23:10Z on the 15th: the 00:05 wake-up was five minutes ago.
    const paris = schedule('Europe/Paris', ['00:05']);
    expect(lastWakeUp(paris, at('2026-01-15T23:10:00Z'))).toBe(at('2026-01-15T23:05:00Z'));
  });

  it('uses the local date just before local midnight west of UTC', () => {
    // 23:30 in New York on the 15th is 04:30Z on the 16th.
    const newYork = schedule('America/New_York', ['23:00', '06:00']);
    expect(lastWakeUp(newYork, at('2026-01-16T04:30:00Z'))).toBe(at('2026-01-16T04:00:00Z'));
    // 00:30 local on the 16th: yesterday's 23:00 is still the latest.
    expect(lastWakeUp(newYork, at('2026-01-16T05:30:00Z'))).toBe(at('2026-01-16T04:00:00Z'));
  });

  it('moves a wake-up inside the spring-forward gap to the end of the gap', () => {
    const paris = schedule('Europe/Paris', ['02:30']);
    expect(lastWakeUp(paris, at('2026-03-29T00:59:00Z'))).toBe(at('2026-03-28T01:30:00Z'));
    expect(lastWakeUp(paris, at('2026-03-29T01:30:00Z'))).toBe(at('2026-03-29T01:00:00Z'));
  });

  it('wakes at the first occurrence of an ambiguous fall-back time', () => {
    const paris = schedule('Europe/Paris', ['02:30']);
    expect(lastWakeUp(paris, at('2026-10-25T00:45:00Z'))).toBe(at('2026-10-25T00:30:00Z'));
    expect(lastWakeUp(paris, at('2026-10-25T01:45:00Z'))).toBe(at('2026-10-25T00:30:00Z'));
  });
});

describe('scaleDownTimeoutSeconds', () => {
  it('returns the default without a schedule or without entries', () => {
    expect(scaleDownTimeoutSeconds(undefined, at('2026-01-15T12:00:00Z'), 300)).toBe(300);
    expect(scaleDownTimeoutSeconds(schedule('UTC', []), at('2026-01-15T12:00:00Z'), 300)).toBe(300);
  });

  it("with one entry, uses its value once today's time is reached, else the default", () => {
    const paris = schedule('Europe/Paris', [], [['07:00', 20]]);
    expect(scaleDownTimeoutSeconds(paris, at('2026-01-15T05:59:00Z'), 300)).toBe(300);
    expect(scaleDownTimeoutSeconds(paris, at('2026-01-15T06:00:00Z'), 300)).toBe(20);
    expect(scaleDownTimeoutSeconds(paris, at('2026-01-15T22:59:00Z'), 300)).toBe(20);
    // 00:30 local on the 16th: a new local day, the 07:00 entry has not been reached yet.
    expect(scaleDownTimeoutSeconds(paris, at('2026-01-15T23:30:00Z'), 300)).toBe(300);
  });

  it('with several entries, uses the latest one reached today', () => {
    const paris = schedule(
      'Europe/Paris',
      [],
      [
        ['21:00', 10],
        ['07:00', 20],
      ],
    );
    expect(scaleDownTimeoutSeconds(paris, at('2026-01-15T07:00:00Z'), 300)).toBe(20);
    expect(scaleDownTimeoutSeconds(paris, at('2026-01-15T20:00:00Z'), 300)).toBe(10);
  });

  it("with several entries, uses yesterday evening's entry before the first one of the day", () => {
    const paris = schedule(
      'Europe/Paris',
      [],
      [
        ['07:00', 20],
        ['21:00', 10],
      ],
    );
    // 03:00 local: 21:00 yesterday applies, not the default.
    expect(scaleDownTimeoutSeconds(paris, at('2026-01-15T02:00:00Z'), 300)).toBe(10);
    // Just after local midnight, still yesterday evening's entry.
    expect(scaleDownTimeoutSeconds(paris, at('2026-01-15T23:10:00Z'), 300)).toBe(10);
  });

  it('follows the local clock across a fall-back transition', () => {
    const paris = schedule(
      'Europe/Paris',
      [],
      [
        ['02:30', 5],
        ['08:00', 60],
      ],
    );
    expect(scaleDownTimeoutSeconds(paris, at('2026-10-25T00:15:00Z'), 300)).toBe(60);
    expect(scaleDownTimeoutSeconds(paris, at('2026-10-25T00:30:00Z'), 300)).toBe(5);
    // Second 02:15 (CET, 01:15Z): the first 02:30 (00:30Z) has already passed.
    expect(scaleDownTimeoutSeconds(paris, at('2026-10-25T01:15:00Z'), 300)).toBe(5);
  });

  it('follows the local clock across a spring-forward transition in New York', () => {
    const newYork = schedule(
      'America/New_York',
      [],
      [
        ['02:30', 5],
        ['20:00', 60],
      ],
    );
    // 01:59 EST (06:59Z): yesterday's 20:00 entry.
    expect(scaleDownTimeoutSeconds(newYork, at('2026-03-08T06:59:00Z'), 300)).toBe(60);
    // 03:00 EDT (07:00Z): the skipped 02:30 counts as reached at the end of the gap.
    expect(scaleDownTimeoutSeconds(newYork, at('2026-03-08T07:00:00Z'), 300)).toBe(5);
  });
});
