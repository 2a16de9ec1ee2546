import { expect } from 'vitest';
import { ConfigError } from '../../src/config/load.js';

/** The lines a configuration loader refuses with; fails the test when it loads instead. */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a configuration error');
}

/** The environment a configuration needs besides its MCP servers: keys, public URL and identity provider. */
export const BASE_ENV = {
  CAPSULE_KEYS: 'A'.repeat(43),
  CAPSULE_PUBLIC_URL: 'https://mcp.example.com',
  CAPSULE_UPSTREAM_ISSUER: 'https://accounts.example.com',
  CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
} as const;
