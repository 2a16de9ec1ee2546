import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTableMarkdown, PROVIDER_EXAMPLES, providerSectionsMarkdown } from '../../src/config/docs.js';
import { loadConfig } from '../../src/config/load.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function between(marker: string): string | undefined {
  return new RegExp(`<!-- ${marker}:start -->\\n([\\s\\S]*?)\\n<!-- ${marker}:end -->`).exec(readme)?.[1];
}

describe('README generated sections (regenerate with npm run docs:config)', () => {
  it('has exactly the configuration table generated from the schema', () => {
    expect(between('config-table')).toBe(configTableMarkdown());
  });

  it('has exactly the identity provider sections generated from the presets', () => {
    expect(between('providers')).toBe(providerSectionsMarkdown());
  });
});

describe('README provider examples', () => {
  it.each(Object.entries(PROVIDER_EXAMPLES))('the %s example is a valid configuration', (_provider, example) => {
    const env: Record<string, string> = {
      CAPSULE_KEYS: 'A'.repeat(43),
      CAPSULE_PUBLIC_URL: 'https://mcp.example.com',
      CAPSULE_MCP_URL: 'http://mcp:3000/mcp',
    };
    for (const line of example.split('\n')) {
      const [name, ...value] = line.split('=');
      env[name!] = value.join('=').replace(/^"|"$/g, '');
    }
    expect(() => loadConfig(env)).not.toThrow();
  });
});
