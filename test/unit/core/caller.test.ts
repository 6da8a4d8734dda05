import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  isInternalCaller,
  normalizeIp,
  parseCidr,
  parseIp,
  type Cidr,
} from '../../../src/core/caller.js';

const podIps = new Set(['10.0.0.12', 'fd00::12']);
const proxies = ['10.1.0.0/16', 'fd01::/64'].map((text) => parseCidr(text) as Cidr);

function internal(
  remoteAddress: string | undefined,
  forwardedFor?: string | string[],
  trustedProxies: readonly Cidr[] = proxies,
): boolean {
  return isInternalCaller({ remoteAddress, forwardedFor, trustedIps: podIps, trustedProxies });
}

describe('isInternalCaller', () => {
  it('accepts a peer whose address is exactly a trusted pod IP, IPv4-mapped or not', () => {
    expect(internal('10.0.0.12')).toBe(true);
    expect(internal('::ffff:10.0.0.12')).toBe(true);
    expect(internal('::FFFF:a00:c')).toBe(true);
    expect(internal('fd00:0:0:0:0:0:0:12')).toBe(true);
  });

  it('rejects an address that is a prefix (or a superstring) of a pod IP', () => {
    expect(internal('10.0.0.1')).toBe(false);
    expect(internal('10.0.0.123')).toBe(false);
    expect(internal('0.0.0.12')).toBe(false);
    expect(internal('fd00::1')).toBe(false);
  });

  it('rejects a missing or unparsable peer address', () => {
    expect(internal(undefined)).toBe(false);
    expect(internal('')).toBe(false);
    expect(internal('10.0.0.012')).toBe(false);
    expect(internal('10.0.0.12 ')).toBe(false);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(internal('203.0.113.9', '10.0.0.12')).toBe(false);
    expect(internal('203.0.113.9', ['10.0.0.12', '10.0.0.12'])).toBe(false);
    expect(internal('10.0.0.99', '10.0.0.12')).toBe(false);
  });

  it('ignores X-Forwarded-For entirely when no proxy is trusted', () => {
    expect(internal('10.1.0.5', '10.0.0.12', [])).toBe(false);
  });

  it('believes the right-most untrusted hop when the peer is a trusted proxy', () => {
    expect(internal('10.1.0.5', '10.0.0.12')).toBe(true);
    expect(internal('::ffff:10.1.0.5', '10.0.0.12, 10.1.2.3')).toBe(true);
    expect(internal('fd01::7', '[fd00::12]:4431')).toBe(true);
    expect(internal('10.1.0.5', '10.0.0.12:51234')).toBe(true);
  });

  it('does not let a client behind a trusted proxy forge the left part of X-Forwarded-For', () => {
    // The proxy appends the address it saw (203.0.113.9); what the client wrote before it proves nothing.
    expect(internal('10.1.0.5', '10.0.0.12, 203.0.113.9')).toBe(false);
    expect(internal('10.1.0.5', ['10.0.0.12', '203.0.113.9'])).toBe(false);
  });

  it('rejects a prefix of a pod IP even through a trusted proxy', () => {
    expect(internal('10.1.0.5', '10.0.0.1')).toBe(false);
  });

  it('treats an unparsable hop as external', () => {
    expect(internal('10.1.0.5', 'unknown')).toBe(false);
    expect(internal('10.1.0.5', '10.0.0.12, garbage')).toBe(false);
  });

  it('falls back to the peer when X-Forwarded-For is empty', () => {
    expect(internal('10.1.0.5', '')).toBe(false);
    const proxyIsPod = new Set(['10.1.0.5']);
    expect(
      isInternalCaller({
        remoteAddress: '10.1.0.5',
        forwardedFor: ' , ',
        trustedIps: proxyIsPod,
        trustedProxies: proxies,
      }),
    ).toBe(true);
  });
});

describe('addresses and CIDR blocks', () => {
  it('normalises addresses to one canonical text', () => {
    expect(normalizeIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(normalizeIp('::')).toBe('::');
    expect(normalizeIp('::1')).toBe('::1');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp('1:2:3:4:5:6:7:8')).toBe('1:2:3:4:5:6:7:8');
    for (const bad of ['1.2.3', '256.1.1.1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'abcd', '12345::', ':::'])
      expect(normalizeIp(bad), bad).toBeUndefined();
  });

  it('parses CIDR blocks and tests membership', () => {
    const v4 = parseCidr('10.1.0.0/16') as Cidr;
    expect(cidrContains(v4, parseIp('10.1.255.3') as Uint8Array)).toBe(true);
    expect(cidrContains(v4, parseIp('::ffff:10.1.0.1') as Uint8Array)).toBe(true);
    expect(cidrContains(v4, parseIp('10.2.0.1') as Uint8Array)).toBe(false);
    const odd = parseCidr('192.168.0.0/23') as Cidr;
    expect(cidrContains(odd, parseIp('192.168.1.200') as Uint8Array)).toBe(true);
    expect(cidrContains(odd, parseIp('192.168.2.1') as Uint8Array)).toBe(false);
    const host = parseCidr('10.0.0.1') as Cidr;
    expect(cidrContains(host, parseIp('10.0.0.1') as Uint8Array)).toBe(true);
    expect(cidrContains(host, parseIp('10.0.0.12') as Uint8Array)).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0') as Cidr, parseIp('8.8.8.8') as Uint8Array)).toBe(true);
    expect(cidrContains(parseCidr('0.0.0.0/0') as Cidr, parseIp('fd00::1') as Uint8Array)).toBe(false);
    expect(cidrContains(parseCidr('fd00::/8') as Cidr, parseIp('fd12::1') as Uint8Array)).toBe(true);
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', 'fd00::/129', 'x/8', '10.0.0.0/8/8', 'fe80::1%eth0/64'])
      expect(parseCidr(bad), bad).toBeUndefined();
  });
});
