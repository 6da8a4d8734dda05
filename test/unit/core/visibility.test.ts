import { describe, expect, it } from 'vitest';
import type { EventSubscription, PathVisibility, Visibility } from '../../../src/core/function-spec.js';
import {
  normalizeRequestPath,
  resolveEventVisibility,
  resolveVisibility,
} from '../../../src/core/visibility.js';
import { testFunctionSpec } from '../../contracts/orchestrator-contract.js';

function rules(...entries: [string, Visibility][]): PathVisibility[] {
  return entries.map(([path, visibility]) => ({ path, visibility }));
}

describe('normalizeRequestPath', () => {
  it.each([
    ['/', '/'],
    ['', '/'],
    ['/Admin', '/admin'],
    ['//admin', '/admin'],
    ['///admin//x', '/admin/x'],
    ['/%61dmin', '/admin'],
    ['/%2561dmin', '/%61dmin'],
    ['/public/../admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/%2E%2E/admin', '/admin'],
    ['/public%2F..%2Fadmin', '/admin'],
    ['/public\\..\\admin', '/admin'],
    ['/public%5C..%5Cadmin', '/admin'],
    ['/./admin', '/admin'],
    ['/../../admin', '/admin'],
    ['/admin/', '/admin/'],
    ['/admin/.', '/admin/'],
    ['/a/b/..', '/a/'],
    ['/a/..', '/'],
    ['/.well-known/x', '/.well-known/x'],
    ['/..x/y', '/..x/y'],
    ['/x./y..', '/x./y..'],
    ['admin', '/admin'],
    ['/admin?x=/public', '/admin'],
    ['/?q=1', '/'],
    ['/caf%C3%A9', '/caf%c3%a9'],
    ['/100%', '/100%'],
    ['/%zz', '/%zz'],
  ])('%j → %j', (path, expected) => {
    expect(normalizeRequestPath(path)).toBe(expected);
  });
});

describe('resolveVisibility', () => {
  const publicWithPrivateAdmin = testFunctionSpec('fn', {
    pathsStartWithVisibility: rules(['/admin', 'Private']),
  });

  it('returns the default visibility when the function has no rules', () => {
    expect(resolveVisibility(testFunctionSpec('a'), '/anything')).toBe('Public');
    expect(resolveVisibility(testFunctionSpec('b', { defaultVisibility: 'Private' }), '/x')).toBe('Private');
  });

  it.each([
    '/admin',
    '/admin/users',
    '/Admin',
    '/ADMIN/x',
    '//admin',
    '/%61dmin',
    '/%41DMIN',
    '/public/../admin',
    '/public/./../admin/x',
    '/public%2F..%2Fadmin',
    '/public\\..\\admin',
    '/./admin?x=1',
    '/administrator',
  ])('treats %j as the private /admin prefix', (path) => {
    expect(resolveVisibility(publicWithPrivateAdmin, path)).toBe('Private');
  });

  it.each(['/', '/public', '/public/admin', '/x/admin', '/adm', '/%2561dmin', '/?admin'])(
    'leaves %j public',
    (path) => {
      expect(resolveVisibility(publicWithPrivateAdmin, path)).toBe('Public');
    },
  );

  it('normalises rule prefixes the same way (slashes, case, dot segments)', () => {
    const spec = testFunctionSpec('fn', {
      pathsStartWithVisibility: rules(['//Secret//Area', 'Private'], ['/x/../Hidden', 'Private']),
    });
    expect(resolveVisibility(spec, '/secret/area/1')).toBe('Private');
    expect(resolveVisibility(spec, '/hidden')).toBe('Private');
    expect(resolveVisibility(spec, '/secret')).toBe('Public');
  });

  it('uses the first matching rule, then the default', () => {
    const spec = testFunctionSpec('fn', {
      defaultVisibility: 'Private',
      pathsStartWithVisibility: rules(['/public/internal', 'Private'], ['/public', 'Public']),
    });
    expect(resolveVisibility(spec, '/public/x')).toBe('Public');
    expect(resolveVisibility(spec, '/public/internal/x')).toBe('Private');
    expect(resolveVisibility(spec, '/Public/Internal')).toBe('Private');
    expect(resolveVisibility(spec, '/other')).toBe('Private');
    expect(resolveVisibility(spec, '/public/../other')).toBe('Private');
  });

  it('matches a rule written with non-ASCII characters against the encoded path', () => {
    const spec = testFunctionSpec('fn', { pathsStartWithVisibility: rules(['/café', 'Private']) });
    expect(resolveVisibility(spec, '/caf%C3%A9/menu')).toBe('Private');
    expect(resolveVisibility(spec, '/cafe')).toBe('Public');
  });
});

describe('resolveEventVisibility', () => {
  const pub: EventSubscription = { name: 'e', visibility: 'Public' };
  const priv: EventSubscription = { name: 'e', visibility: 'Private' };

  it('follows the subscription when the function has no path rules', () => {
    const privateFn = testFunctionSpec('fn', { defaultVisibility: 'Private' });
    expect(resolveEventVisibility(privateFn, pub, '/x')).toBe('Public');
    expect(resolveEventVisibility(testFunctionSpec('g'), priv, '/x')).toBe('Private');
  });

  it('keeps a private path private even for a public subscription', () => {
    const spec = testFunctionSpec('fn', { pathsStartWithVisibility: rules(['/admin', 'Private']) });
    expect(resolveEventVisibility(spec, pub, '/Admin/../admin/delete')).toBe('Private');
    expect(resolveEventVisibility(spec, pub, '/orders')).toBe('Public');
  });

  it('never opens a private subscription through a public path rule', () => {
    const spec = testFunctionSpec('fn', { pathsStartWithVisibility: rules(['/', 'Public']) });
    expect(resolveEventVisibility(spec, priv, '/x')).toBe('Private');
  });
});
