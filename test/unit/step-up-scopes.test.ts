import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { scopeTokens, scopesLacking, scopeUnion } from '../../src/domain/scope.js';
import { inspectMcpRequest } from '../../src/mcp/inspection/inspect-request.js';
import { parseJsonRpcBody } from '../../src/mcp/inspection/jsonrpc.js';
import { callsLackingScope, compileToolScopes } from '../../src/mcp/inspection/tool-scopes.js';
import { hasApproval, withApproval } from '../../src/oauth/consent.js';
import { endpointsFor } from '../../src/oauth/endpoints.js';
import { runCli } from '../support/cli.js';
import { BASE_ENV, configProblems } from '../support/config-problems.js';
import { codecFor, TEST_KEY_A } from '../support/deps.js';

describe('scope sets (RFC 6749 §3.3)', () => {
  it('reads a scope value as a set of case-sensitive tokens in first-seen order', () => {
    expect(scopeTokens('b a  b A')).toEqual(['b', 'a', 'A']);
    expect(scopeTokens('')).toEqual([]);
    expect(scopeTokens(undefined)).toEqual([]);
  });

  it('names what a held set lacks; nothing when it covers the wanted one', () => {
    expect(scopesLacking(['mcp', 'mcp:admin'], ['mcp:admin', 'mcp'])).toEqual([]);
    expect(scopesLacking(['mcp'], ['mcp', 'mcp:admin', 'mcp:admin'])).toEqual(['mcp:admin']);
    expect(scopesLacking([], [])).toEqual([]);
    expect(scopesLacking(['MCP'], ['mcp'])).toEqual(['mcp']);
  });

  it('unites lists without repeats', () => {
    expect(scopeUnion(['mcp', 'offline_access'], ['mcp:admin', 'mcp'])).toEqual(['mcp', 'offline_access', 'mcp:admin']);
    expect(scopeUnion()).toEqual([]);
  });
});

describe('tool scopes', () => {
  it('adds up the scopes of every pattern a tool matches; none configured means no check at all', () => {
    const required = compileToolScopes({ 'admin_*': ['mcp:admin'], 'admin_delete*': ['mcp:delete'], search: ['mcp:read'] })!;
    expect(required('admin_delete_user')).toEqual(['mcp:admin', 'mcp:delete']);
    expect(required('admin_list')).toEqual(['mcp:admin']);
    expect(required('search')).toEqual(['mcp:read']);
    expect(required('Search')).toEqual([]);
    expect(compileToolScopes({})).toBeUndefined();
  });

  it('finds every call of a body lacking a scope, notifications and batch members included', () => {
    const required = compileToolScopes({ 'admin_*': ['mcp:admin'], 'write_*': ['mcp:write'] })!;
    const call = (name: string, id?: number) => ({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method: 'tools/call', params: { name } });
    const body = [call('read', 1), call('admin_x', 2), call('write_y'), { jsonrpc: '2.0', id: 3, method: 'tools/list' }];
    const parsed = parseJsonRpcBody(new TextEncoder().encode(JSON.stringify(body)));
    if (!parsed.ok) throw new Error(parsed.detail);
    const found = callsLackingScope(parsed.summary, required, ['mcp:write']);
    expect(found.calls.map((message) => message.toolName)).toEqual(['admin_x']);
    expect(found.lacking).toEqual(['mcp:admin']);
    const none = callsLackingScope(parsed.summary, required, []);
    expect(none.lacking).toEqual(['mcp:admin', 'mcp:write']);
    expect(callsLackingScope(parsed.summary, required, ['mcp:admin', 'mcp:write']).calls).toEqual([]);
  });

  it('a tool the user may not use is "not available" before its scope is looked at, so a challenge never reveals it', async () => {
    const body = new TextEncoder().encode(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'admin_x' } }));
    const request = { method: 'POST', headers: new Headers(), readBody: async () => ({ ok: true as const, body }) };
    const scopes = { required: compileToolScopes({ 'admin_*': ['mcp:admin'] })!, held: [] };
    const hidden = await inspectMcpRequest(request, { isAllowed: () => false, scopes });
    expect(hidden.kind === 'answer' && hidden.reason).toBe('tool_refused');
    // Control: a tool the user may use gets the scope check.
    const allowed = await inspectMcpRequest(request, { isAllowed: () => true, scopes });
    expect(allowed.kind === 'insufficient_scope' && allowed.lacking).toEqual(['mcp:admin']);
    // And without any tool policy too.
    expect((await inspectMcpRequest(request, { scopes })).kind).toBe('insufficient_scope');
  });
});

describe('remembered consent covers the scopes approved', () => {
  it('an approval covers its scopes and fewer, not more; approving more adds to it', () => {
    const small = withApproval(undefined, 'k', 'mcp', 1000, 600);
    expect(hasApproval(small, 'k', 'mcp')).toBe(true);
    expect(hasApproval(small, 'k', '')).toBe(true);
    expect(hasApproval(small, 'k', 'mcp mcp:admin')).toBe(false);
    expect(hasApproval(small, 'other', 'mcp')).toBe(false);
    const both = withApproval(small, 'k', 'mcp:admin', 1001, 600);
    expect(both.approvals).toEqual([{ key: 'k', at: 1001, scope: 'mcp mcp:admin' }]);
    expect(hasApproval(both, 'k', 'mcp:admin mcp')).toBe(true);
  });

  it('keeps the sealed cookie within what a browser stores (4,096 bytes), dropping the oldest approvals of long scopes', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const approveAll = (scope: string) => {
      let consent: ReturnType<typeof withApproval> | undefined;
      for (let i = 0; i < 25; i++) consent = withApproval(consent, `client-${String(i).padStart(15, '0')}`, scope, 1767225600 + i, 2592000);
      return consent!;
    };
    const long = approveAll(Array.from({ length: 20 }, (_, i) => `mcp:tool-group-${String(i).padStart(2, '0')}:write`).join(' '));
    const cookie = `__Host-capsule-consent=${await codec.seal('consent', long)}; Max-Age=2592000; Path=/; HttpOnly; Secure; SameSite=Lax`;
    expect(cookie.length).toBeLessThanOrEqual(4096);
    expect(hasApproval(long, 'client-000000000000024', 'mcp:tool-group-19:write')).toBe(true);
    expect(hasApproval(long, 'client-000000000000000', 'mcp:tool-group-19:write')).toBe(false);
    // Control: short scopes keep the twenty newest approvals.
    expect(approveAll('mcp mcp:admin offline_access').approvals).toHaveLength(20);
  });
});

describe('scope settings', () => {
  const FILE = '/etc/mcp-capsule/config.yaml';
  const load = (yaml: string, env: Record<string, string> = {}) =>
    loadConfig({ ...BASE_ENV, CAPSULE_CONFIG: FILE, ...env }, (path) => {
      if (path !== FILE) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return yaml;
    });
  const route = (settings: string) => `routes:\n  - path: /mcp\n    url: http://mcp:3000/mcp\n${settings}`;

  it('refuses a tool scope the route does not offer, naming the pattern', () => {
    expect(configProblems(() => load(route('    scopesSupported: [mcp]\n    tools:\n      scopes:\n        "admin_*": [mcp, mcp:admin]\n')))).toEqual([
      "routes[0] (/mcp).tools.scopes.admin_*: mcp:admin must be listed in this route's scopesSupported, or no client can be granted it",
    ]);
    expect(configProblems(() => load(route('    tools:\n      scopes:\n        "admin_*": [mcp:admin]\n')))).toEqual([
      "routes[0] (/mcp).tools.scopes.admin_*: mcp:admin must be listed in this route's scopesSupported (or the proxy-wide scopes), or no client can be granted it",
    ]);
    expect(configProblems(() => load(route('    scopesSupported: [mcp]\n    tools:\n      scopes:\n        "admin_*": []\n')))).toEqual([
      'routes[0] (/mcp).tools.scopes.admin_*: needs at least one scope',
    ]);
    expect(configProblems(() => load(route('    scopesSupported: ["bad\\"scope"]\n')))[0]).toMatch(/^routes\[0\] \(\/mcp\)\.scopesSupported\[0\]: scope tokens must be printable ASCII/);
  });

  it('refuses scope settings on a route where nobody signs in', () => {
    expect(configProblems(() => load(route('    auth: pat\n    scopesSupported: [mcp]\n    tools:\n      scopes:\n        "*": [mcp]\n')))).toEqual([
      'routes[0] (/mcp).scopesSupported: needs a signed-in user; auth pat has none',
      'routes[0] (/mcp).tools.scopes: needs a signed-in user; auth pat has none',
    ]);
    expect(configProblems(() => load(route('    kind: http\n    scopesSupported: [mcp]\n    tools:\n      scopes:\n        "*": [mcp]\n')))).toEqual([
      'routes[0] (/mcp).tools.scopes: has no effect on a kind http route, which has no tools',
    ]);
  });

  it('control: offered scopes load, the first being the basic one; without its own list a route offers the proxy-wide scopes', () => {
    const own = load(route('    scopesSupported: [mcp, mcp:admin]\n    tools:\n      scopes:\n        "admin_*": [mcp:admin]\n')).config;
    expect(endpointsFor(own).routes[0]).toMatchObject({ scopes: ['mcp', 'mcp:admin'], basicScope: 'mcp' });
    const inherited = load(route('    tools:\n      scopes:\n        "admin_*": [mcp:admin]\n'), { CAPSULE_SCOPES: 'mcp mcp:admin' }).config;
    expect(endpointsFor(inherited).routes[0]).toMatchObject({ scopes: ['mcp', 'mcp:admin'], basicScope: 'mcp' });
    const none = load(route('')).config;
    expect(endpointsFor(none).routes[0]).toMatchObject({ scopes: [], basicScope: undefined });
  });

  it('mcp-capsule check refuses an unknown tool scope with exit code 78, naming the setting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capsule-scopes-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, route('    scopesSupported: [mcp]\n    tools:\n      scopes:\n        "admin_*": [mcp:admin]\n'));
    try {
      const run = await runCli(['check'], { ...BASE_ENV, CAPSULE_UPSTREAM_CLIENT_SECRET: 'cli-test-secret-value', CAPSULE_CONFIG: file });
      expect(run.code).toBe(78);
      expect(run.stderr).toMatch(/^\s+- routes\[0\] \(\/mcp\)\.tools\.scopes\.admin_\*: mcp:admin must be listed in this route's scopesSupported/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
