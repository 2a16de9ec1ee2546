import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../src/mcp/inspection/glob.js';
import { compileToolPolicy } from '../../src/mcp/inspection/tool-policy.js';

describe('compileGlob', () => {
  it.each([
    ['search', 'search', true],
    ['search', 'search2', false],
    ['search', 'Search', false],
    ['*', '', true],
    ['*', 'anything at all', true],
    ['delete_*', 'delete_file', true],
    ['delete_*', 'delete_', true],
    ['delete_*', 'undelete_file', false],
    ['*_admin', 'user_admin', true],
    ['*_admin', 'user_admin_x', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['ab*ba', 'aba', false],
    ['*x*', 'x', true],
    ['**', 'q', true],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(compileGlob(pattern)(name)).toBe(expected);
  });

  it.each([
    ['a.b', 'a.b', true],
    ['a.b', 'aXb', false],
    ['a+b', 'a+b', true],
    ['a+b', 'aab', false],
    ['a?b', 'axb', false],
    ['[ab]', 'a', false],
    ['[ab]', '[ab]', true],
    ['(x|y)', 'x', false],
    ['^x$', 'x', false],
    ['^x$', '^x$', true],
    ['a\\d', 'a1', false],
    ['a\\d', 'a\\d', true],
    ['tool.*', 'tool.read', true],
    ['tool.*', 'toolXread', false],
  ])('treats regex metacharacters literally: %s vs %s → %s', (pattern, name, expected) => {
    expect(compileGlob(pattern)(name)).toBe(expected);
  });

  it('refuses an empty pattern', () => {
    expect(() => compileGlob('')).toThrow(TypeError);
  });

  it('answers on long names with many stars (no backtracking blow-up)', () => {
    // A backtracking matcher tries every split of the name among the stars before it can say no: about
    // 200,000^5 steps here, so it never returns and the run stops at this test; a linear one answers at once.
    // Whether it answers is the assertion, not how fast: a busy machine cannot fail it.
    const matcher = compileGlob('a*a*a*a*a*a*b');
    expect(matcher('a'.repeat(200_000))).toBe(false);
  });
});

describe('compileToolPolicy', () => {
  it('allows everything when nothing is configured', () => {
    const policy = compileToolPolicy({ disabled: [], restricted: {} });
    expect(policy.isAllowed('anything', [])).toBe(true);
    expect(policy.restrictsAnything).toBe(false);
  });

  it('disables exact names and globs', () => {
    const policy = compileToolPolicy({ disabled: ['drop_table', 'delete_*'], restricted: {} });
    expect(policy.isAllowed('drop_table', [])).toBe(false);
    expect(policy.isAllowed('delete_user', ['admins'])).toBe(false);
    expect(policy.isAllowed('read_user', [])).toBe(true);
    expect(policy.isAllowed('drop_table2', [])).toBe(true);
    expect(policy.restrictsAnything).toBe(true);
  });

  it('with an allowlist, only listed tools pass, and disabled still wins', () => {
    const policy = compileToolPolicy({ enabled: ['read_*', 'search'], disabled: ['read_secrets'], restricted: {} });
    expect(policy.isAllowed('read_file', [])).toBe(true);
    expect(policy.isAllowed('search', [])).toBe(true);
    expect(policy.isAllowed('write_file', [])).toBe(false);
    expect(policy.isAllowed('read_secrets', [])).toBe(false);
  });

  it('an empty allowlist allows nothing', () => {
    expect(compileToolPolicy({ enabled: [], disabled: [], restricted: {} }).isAllowed('x', ['admins'])).toBe(false);
  });

  it('restricts tools to groups; every matching restriction must be met', () => {
    const policy = compileToolPolicy({
      disabled: [],
      restricted: { 'admin_*': ['admins'], 'admin_billing_*': ['billing'], deploy: ['ops', 'admins'], nobody: [] },
    });
    expect(policy.isAllowed('admin_users', ['admins'])).toBe(true);
    expect(policy.isAllowed('admin_users', ['staff'])).toBe(false);
    expect(policy.isAllowed('admin_users', [])).toBe(false);
    expect(policy.isAllowed('admin_billing_refund', ['admins'])).toBe(false);
    expect(policy.isAllowed('admin_billing_refund', ['billing'])).toBe(false);
    expect(policy.isAllowed('admin_billing_refund', ['billing', 'admins'])).toBe(true);
    expect(policy.isAllowed('deploy', ['ops'])).toBe(true);
    expect(policy.isAllowed('nobody', ['admins', 'ops'])).toBe(false);
    expect(policy.isAllowed('search', [])).toBe(true);
  });

  it('matches group names exactly and restriction patterns literally', () => {
    const policy = compileToolPolicy({ disabled: ['a.b'], restricted: { 'x+y': ['Admins'] } });
    expect(policy.isAllowed('aXb', [])).toBe(true);
    expect(policy.isAllowed('a.b', [])).toBe(false);
    expect(policy.isAllowed('x+y', ['admins'])).toBe(false);
    expect(policy.isAllowed('x+y', ['Admins'])).toBe(true);
    expect(policy.isAllowed('xxy', [])).toBe(true);
  });

  it('ignores prototype names in groups and patterns', () => {
    const restricted = JSON.parse('{"__proto__":["admins"],"toString":["ops"]}') as Record<string, string[]>;
    const policy = compileToolPolicy({ disabled: [], restricted });
    expect(policy.isAllowed('__proto__', [])).toBe(false);
    expect(policy.isAllowed('__proto__', ['admins'])).toBe(true);
    expect(policy.isAllowed('toString', ['constructor'])).toBe(false);
    expect(policy.isAllowed('hasOwnProperty', [])).toBe(true);
  });

  it('rejects an empty pattern at compile time', () => {
    expect(() => compileToolPolicy({ disabled: [''], restricted: {} })).toThrow(TypeError);
    expect(() => compileToolPolicy({ disabled: [], restricted: { '': ['a'] } })).toThrow(TypeError);
  });
});
