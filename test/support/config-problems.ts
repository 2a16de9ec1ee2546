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
