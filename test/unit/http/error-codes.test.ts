import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/core/errors.js';
import { ERROR_STATUS } from '../../../src/http/error-response.js';

describe('error codes', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
  const documented = new Map(
    [...doc.matchAll(/^\| `([a-z_]+)` *\| (\d{3}) *\|/gm)].map((m) => [m[1] as string, Number(m[2])]),
  );

  it('maps every code to an HTTP status', () => {
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('documents every code in docs/errors.md with the same status', () => {
    expect([...documented.keys()].sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) expect(documented.get(code), code).toBe(ERROR_STATUS[code]);
  });
});
