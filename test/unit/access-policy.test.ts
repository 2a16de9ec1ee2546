import { describe, expect, it } from 'vitest';
import { compileAccessPolicy } from '../../src/policy/access-policy.js';

const none = { emails: [], emailDomains: [], groups: [], subjects: [], clients: [] };

describe('access policy', () => {
  it('allows every signed-in user when no list is set', () => {
    const policy = compileAccessPolicy(none);
    expect(policy.restricted).toBe(false);
    expect(policy.decide({ sub: 'anyone' }).allowed).toBe(true);
  });

  it('allows by verified email, case-insensitively, and never by an unverified one', () => {
    const policy = compileAccessPolicy({ ...none, emails: ['Alice@Example.com'] });
    expect(policy.decide({ sub: 'a', email: 'alice@example.COM', email_verified: true })).toEqual({ allowed: true, rule: 'email' });
    const unverified = policy.decide({ sub: 'a', email: 'alice@example.com', email_verified: false });
    expect(unverified.allowed).toBe(false);
    expect(unverified.allowed === false && unverified.reason).toMatch(/not verified/);
    expect(policy.decide({ sub: 'a', email: 'alice@example.com' }).allowed).toBe(false);
  });

  it('allows by the exact domain of a verified email, not by a look-alike', () => {
    const policy = compileAccessPolicy({ ...none, emailDomains: ['example.com'] });
    expect(policy.decide({ sub: 'a', email: 'bob@example.com', email_verified: true }).allowed).toBe(true);
    expect(policy.decide({ sub: 'a', email: 'bob@evilexample.com', email_verified: true }).allowed).toBe(false);
    expect(policy.decide({ sub: 'a', email: 'bob@example.com.evil.test', email_verified: true }).allowed).toBe(false);
    expect(policy.decide({ sub: 'a', email: 'bob@sub.example.com', email_verified: true }).allowed).toBe(false);
    expect(policy.decide({ sub: 'a', email: 'example.com', email_verified: true }).allowed).toBe(false);
  });

  it('allows by group or subject', () => {
    const policy = compileAccessPolicy({ ...none, groups: ['mcp-users'], subjects: ['12345'] });
    expect(policy.decide({ sub: 'x', groups: ['staff', 'mcp-users'] })).toEqual({ allowed: true, rule: 'group' });
    expect(policy.decide({ sub: '12345' })).toEqual({ allowed: true, rule: 'subject' });
    expect(policy.decide({ sub: 'x', groups: ['staff'] }).allowed).toBe(false);
  });
});
