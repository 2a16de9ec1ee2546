import { describe, expect, it } from 'vitest';
import { matchRedirectUri, matchResource, redirectUriProblem } from '../../src/config/redirect-uri.js';

const SCHEMES = ['cursor', 'vscode'];

describe('redirect URIs at registration', () => {
  it.each([
    'https://app.example.com/callback',
    'http://127.0.0.1:33418/callback',
    'http://localhost/cb',
    'http://[::1]:8080/cb',
    'cursor://anysphere.cursor-mcp/oauth/callback',
  ])('accepts %s', (uri) => {
    expect(redirectUriProblem(uri, SCHEMES)).toBeUndefined();
  });

  it.each([
    ['http://app.example.com/callback', /https/],
    ['https://app.example.com/cb#fragment', /fragment/],
    ['https://user:pass@app.example.com/cb', /user information/],
    ['javascript:alert(1)', /forbidden/],
    ['data:text/html,hi', /forbidden/],
    ['file:///etc/passwd', /forbidden/],
    ['myapp://callback', /allowlist/],
    ['not a uri', /absolute/],
    [`https://app.example.com/${'a'.repeat(2100)}`, /too long/],
  ])('refuses %s', (uri, reason) => {
    expect(redirectUriProblem(uri, SCHEMES)).toMatch(reason);
  });
});

describe('redirect URIs at authorization', () => {
  const registered = ['https://app.example.com/callback', 'http://127.0.0.1:1234/callback', 'cursor://anysphere.cursor-mcp/oauth/callback'];

  it('matches exactly, and loopback on any port', () => {
    expect(matchRedirectUri('https://app.example.com/callback', registered)).toBe(registered[0]);
    expect(matchRedirectUri('http://127.0.0.1:5555/callback', registered)).toBe(registered[1]);
    expect(matchRedirectUri('http://127.0.0.1/callback', registered)).toBe(registered[1]);
    expect(matchRedirectUri('cursor://anysphere.cursor-mcp/oauth/callback', registered)).toBe(registered[2]);
  });

  it.each([
    'https://app.example.com/callback/',
    'https://APP.example.com/callback',
    'https://app.example.com/Callback',
    'https://app.example.com/callback?x=1',
    'https://app.example.com:8443/callback',
    'https://app.example.com@evil.example/callback',
    'https://evil.example/callback',
    'http://127.0.0.1:5555/callback#x',
    'http://127.0.0.1:5555/other',
    'http://localhost:5555/callback',
    'http://user@127.0.0.1:5555/callback',
    'https://127.0.0.1:5555/callback',
  ])('does not match %s', (uri) => {
    expect(matchRedirectUri(uri, registered)).toBeUndefined();
  });
});

describe('resource indicators', () => {
  const canonical = 'https://proxy.example.com/mcp';
  it('accepts the resource with case-insensitive scheme and host and one trailing slash', () => {
    expect(matchResource('https://proxy.example.com/mcp', canonical)).toBe(true);
    expect(matchResource('HTTPS://Proxy.Example.com/mcp', canonical)).toBe(true);
    expect(matchResource('https://proxy.example.com/mcp/', canonical)).toBe(true);
  });
  it.each(['https://proxy.example.com/other', 'https://proxy.example.com/mcp#x', 'https://evil.example/mcp', 'mcp', 'https://proxy.example.com/MCP'])(
    'refuses %s',
    (resource) => {
      expect(matchResource(resource, canonical)).toBe(false);
    },
  );
});
