import { describe, expect, it } from 'vitest';
import {
  credentialsFromRequest,
  DEFAULT_CREDENTIAL_HEADERS,
  MAX_CLIENT_ID_LENGTH,
  MAX_CLIENT_SECRET_LENGTH,
} from '../../src/downstream/client-credentials/index.js';

/** Reading a caller's own client credentials from two request headers. */

describe('credentialsFromRequest', () => {
  it('reads X-Client-Id and X-Client-Secret by default, whatever their case', () => {
    expect(DEFAULT_CREDENTIAL_HEADERS).toEqual({ clientId: 'X-Client-Id', clientSecret: 'X-Client-Secret' });
    const headers = new Headers({ 'x-client-id': 'my-client', 'X-CLIENT-SECRET': 'my secret with spaces' });
    expect(credentialsFromRequest(headers)).toEqual({ clientId: 'my-client', clientSecret: 'my secret with spaces' });
  });

  it('reads configured header names, and only those', () => {
    const names = { clientId: 'X-Api-Client', clientSecret: 'X-Api-Key' };
    const headers = new Headers({ 'X-Api-Client': 'svc', 'X-Api-Key': 'k3y', 'X-Client-Id': 'other', 'X-Client-Secret': 'other' });
    expect(credentialsFromRequest(headers, names)).toEqual({ clientId: 'svc', clientSecret: 'k3y' });
    expect(credentialsFromRequest(new Headers({ 'X-Client-Id': 'a', 'X-Client-Secret': 'b' }), names)).toBeUndefined();
  });

  it.each([
    ['no headers', {}],
    ['only the client_id', { 'X-Client-Id': 'a' }],
    ['only the secret', { 'X-Client-Secret': 'b' }],
    ['an empty client_id', { 'X-Client-Id': '', 'X-Client-Secret': 'b' }],
    ['a blank secret', { 'X-Client-Id': 'a', 'X-Client-Secret': '   ' }],
    ['a tab inside the secret', { 'X-Client-Id': 'a', 'X-Client-Secret': 'b\tc' }],
    ['a non-ASCII client_id', { 'X-Client-Id': 'caf\u00e9', 'X-Client-Secret': 'b' }],
    ['an over-long client_id', { 'X-Client-Id': 'a'.repeat(MAX_CLIENT_ID_LENGTH + 1), 'X-Client-Secret': 'b' }],
    ['an over-long secret', { 'X-Client-Id': 'a', 'X-Client-Secret': 's'.repeat(MAX_CLIENT_SECRET_LENGTH + 1) }],
  ])('returns undefined for %s', (_label, init: Record<string, string>) => {
    expect(credentialsFromRequest(new Headers(init))).toBeUndefined();
  });

  it('accepts values at the length limits', () => {
    const clientId = 'a'.repeat(MAX_CLIENT_ID_LENGTH);
    const clientSecret = 's'.repeat(MAX_CLIENT_SECRET_LENGTH);
    expect(credentialsFromRequest(new Headers({ 'X-Client-Id': clientId, 'X-Client-Secret': clientSecret }))).toEqual({ clientId, clientSecret });
  });
});
