import { describe, expect, it } from 'vitest';
import { clientIdUrlProblem, isClientIdMetadataUrl, looksLikeClientIdUrl } from '../../src/oauth/cimd/client-id-url.js';
import { classifyAddress, isLocalHostname } from '../../src/net/ip-address.js';

describe('isClientIdMetadataUrl (CIMD §3, checklist C2)', () => {
  it.each([
    'https://app.example.com/oauth/client.json',
    'https://app.example.com/client',
    'https://app.example.com:8443/client.json',
    'https://app.example.com/a/b/c/',
    'https://[2001:db8::1]/client.json',
  ])('accepts %s', (clientId) => {
    expect(isClientIdMetadataUrl(clientId)).toBe(true);
  });

  it.each([
    ['http://app.example.com/client.json', /https/],
    ['https://app.example.com', /path/],
    ['https://app.example.com/', /path/],
    ['https://app.example.com/client.json#frag', /fragment/],
    ['https://app.example.com/client.json#', /fragment/],
    ['https://user@app.example.com/client.json', /user information/],
    ['https://user:pw@app.example.com/client.json', /user information/],
    ['https://@app.example.com/client.json', /user information/],
    ['https://app.example.com/./client.json', /segments/],
    ['https://app.example.com/a/../client.json', /segments/],
    ['https://app.example.com/a/%2e%2E/client.json', /segments/],
    ['https://app.example.com/client.json?v=1', /query/],
    ['https://app.example.com/client.json?', /query/],
    ['https://APP.example.com/client.json', /canonical/],
    ['HTTPS://app.example.com/client.json', /canonical/],
    ['https://app.example.com:443/client.json', /canonical/],
    ['https://app.example.com/client json', /canonical/],
    ['https://app.example.com\\client.json', /path|canonical/],
    ['https://app.example.com:0/client.json', /port 0/],
    ['urn:example:client', /https/],
    ['eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..abc', /absolute/],
    [`https://app.example.com/${'a'.repeat(2100)}`, /too long/],
  ])('refuses %s', (clientId, reason) => {
    expect(isClientIdMetadataUrl(clientId)).toBe(false);
    expect(clientIdUrlProblem(clientId)).toMatch(reason);
  });

  it('accepts http loopback URLs only with the development setting', () => {
    for (const clientId of ['http://127.0.0.1:3000/client.json', 'http://localhost:3000/client.json', 'http://[::1]:3000/client.json']) {
      expect(isClientIdMetadataUrl(clientId)).toBe(false);
      expect(isClientIdMetadataUrl(clientId, { allowHttpLoopback: true })).toBe(true);
    }
    expect(isClientIdMetadataUrl('http://10.0.0.1/client.json', { allowHttpLoopback: true })).toBe(false);
    expect(isClientIdMetadataUrl('http://app.example.com/client.json', { allowHttpLoopback: true })).toBe(false);
  });

  it('tells URL client_ids apart from capsules', () => {
    expect(looksLikeClientIdUrl('https://app.example.com/client.json')).toBe(true);
    expect(looksLikeClientIdUrl('HTTP://localhost/x')).toBe(true);
    expect(looksLikeClientIdUrl('eyJhbGciOiJkaXIifQ..x.y.z')).toBe(false);
  });
});

describe('address classification', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['198.18.0.1', 'private'],
    ['fd00::1', 'private'],
    ['fc00::1', 'private'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['2001:db8::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['0.0.0.0', 'never'],
    ['::', 'never'],
    ['169.254.169.254', 'never'],
    ['fe80::1%eth0', 'never'],
    ['224.0.0.1', 'never'],
    ['ff02::1', 'never'],
    ['255.255.255.255', 'never'],
    ['::ffff:169.254.169.254', 'never'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)?.kind).toBe(kind);
  });

  it('does not mistake neighbours of special ranges for them', () => {
    expect(classifyAddress('172.32.0.1')?.kind).toBe('public');
    expect(classifyAddress('100.128.0.1')?.kind).toBe('public');
    expect(classifyAddress('11.0.0.1')?.kind).toBe('public');
    expect(classifyAddress('not-an-ip')).toBeUndefined();
  });

  it('treats localhost, private-use names and single labels as local', () => {
    for (const name of ['localhost', 'LOCALHOST.', 'api.localhost', 'printer.local', 'db.internal', 'intranet']) {
      expect(isLocalHostname(name)).toBe(true);
    }
    expect(isLocalHostname('app.example.com')).toBe(false);
  });
});
