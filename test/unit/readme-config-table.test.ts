import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTableMarkdown } from '../../src/config/docs.js';

describe('README configuration table', () => {
  it('is exactly the table generated from the schema (regenerate with npm run docs:config)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const match = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
    expect(match, 'README.md has the config-table markers').not.toBeNull();
    expect(match![1]).toBe(configTableMarkdown());
  });
});
