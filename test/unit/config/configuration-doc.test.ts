import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS, type Setting } from '../../../src/config/read-config.js';

describe('docs/configuration.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'configuration.md'), 'utf8');

  it('documents every environment setting with its default', () => {
    for (const setting of Object.values(SETTINGS) as Setting<unknown>[]) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${setting.env}\``));
      expect(row, setting.env).toBeDefined();
      expect(row, setting.env).toContain(`\`${setting.default}\``);
      for (const alias of setting.aliases ?? []) {
        expect(row, `${setting.env} alias ${alias}`).toContain(`\`${alias}\``);
      }
    }
  });
});
