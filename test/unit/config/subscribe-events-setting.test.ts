import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../src/config/read-config.js';

describe('SLIMFAAS_SUBSCRIBE_EVENTS', () => {
  it('has no external subscriber by default', () => {
    const result = readConfig({});
    expect(result.ok && result.config.subscribeEvents.size).toBe(0);
  });

  it('parses OLD SlimFaas syntax: event=>url;url, comma-separated, merging repeated events', () => {
    const result = readConfig({
      SLIMFAAS_SUBSCRIBE_EVENTS: ' evt => http://a:8080/x ; https://b ,evt2=>http://c,evt=>http://d ',
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.config.subscribeEvents]).toEqual([
      ['evt', ['http://a:8080/x', 'https://b', 'http://d']],
      ['evt2', ['http://c']],
    ]);
  });

  it.each(['evt', '=>http://a', 'evt=>', 'evt=>ftp://a', 'evt=>not a url', 'evt=>http://a;;http://b', ','])(
    'rejects %j with an error naming the variable',
    (value) => {
      const result = readConfig({ SLIMFAAS_SUBSCRIBE_EVENTS: value });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatch(/^SLIMFAAS_SUBSCRIBE_EVENTS: /);
    },
  );
});
