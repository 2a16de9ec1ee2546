import { describe, expect, it } from 'vitest';
import type { AccessPayload } from '../../src/domain/capsule-schemas.js';
import { verifyBearer } from '../../src/mcp/bearer.js';
import { replayKeys } from '../../src/store/replay-keys.js';
import { MemoryReplayStore } from '../../src/store/replay-store.js';
import { codecFor, manualClock, TEST_KEY_A } from '../support/deps.js';

const RESOURCE = 'https://proxy.example.com/mcp';

/** A replay store that counts its round trips. */
class CountingReplayStore extends MemoryReplayStore {
  reads = 0;
  override async read(keys: readonly string[]) {
    this.reads += 1;
    return super.read(keys);
  }
}

async function fixture() {
  const clock = manualClock();
  const { codec } = await codecFor([TEST_KEY_A], clock);
  const now = codec.nowSeconds();
  const payload: AccessPayload = {
    identity: { sub: 'alice' },
    upstream: { access_token: 'upstream-at', expires_at: now + 600 },
    cid: 'cid-1',
    scope: '',
    aud: RESOURCE,
    gid: 'grant-1',
    jti: 'jti-1',
    iat: now - 10,
    exp: now + 3600,
  };
  const token = await codec.seal('access', payload);
  const replay = new CountingReplayStore({ clock });
  const ctx = { capsules: codec, replay, resource: RESOURCE };
  return { clock, codec, replay, ctx, token, payload, verify: (header: string | undefined) => verifyBearer(header, ctx) };
}

/** The same token read once before (so it is cached), or presented for the first time. */
describe.each([
  ['a token opened before', true],
  ['a token presented for the first time', false],
])('verifyBearer, %s', (_name, warm) => {
  async function ready() {
    const f = await fixture();
    if (warm) expect((await f.verify(`Bearer ${f.token}`)).ok).toBe(true);
    f.replay.reads = 0;
    return f;
  }

  it.each([
    ['the usual form', (t: string) => `Bearer ${t}`],
    ['the scheme in lowercase', (t: string) => `bearer ${t}`],
    ['the scheme in capitals', (t: string) => `BEARER ${t}`],
    ['several spaces', (t: string) => `Bearer    ${t}`],
    ['trailing spaces', (t: string) => `Bearer ${t}  `],
    ['leading and trailing whitespace', (t: string) => ` \tBearer ${t}\t `],
  ])('accepts %s, with one read of the revocation set', async (_form, header) => {
    const f = await ready();
    const result = await f.verify(header(f.token));
    expect(result).toEqual({ ok: true, token: f.payload });
    expect(f.replay.reads).toBe(1);
  });

  it.each([
    ['a tab between scheme and token', (t: string) => `Bearer\t${t}`],
    ['no space after the scheme', (t: string) => `Bearer${t}`],
    ['another scheme', (t: string) => `Basic ${t}`],
    ['a character outside b64token', (t: string) => `Bearer ${t}!`],
    ['a percent-encoded character', (t: string) => `Bearer ${t}%2E`],
    ['padding in the middle', (t: string) => `Bearer ${t.slice(0, 10)}=${t.slice(10)}`],
    ['two tokens', (t: string) => `Bearer ${t} ${t}`],
    ['a space inside the token', (t: string) => `Bearer ${t.slice(0, -5)} ${t.slice(-5)}`],
    ['the scheme alone', () => 'Bearer '],
  ])('refuses %s as not a Bearer credential, reading nothing', async (_form, header) => {
    const f = await ready();
    expect(await f.verify(header(f.token))).toEqual({ ok: false, reason: 'invalid', detail: 'not a Bearer credential' });
    expect(f.replay.reads).toBe(0);
  });

  it('says a missing header is missing', async () => {
    const f = await ready();
    expect(await f.verify(undefined)).toEqual({ ok: false, reason: 'missing', detail: 'no Authorization header' });
    expect(await f.verify('')).toEqual({ ok: false, reason: 'missing', detail: 'no Authorization header' });
  });

  it('refuses the token once revoked, and once expired', async () => {
    const f = await ready();
    await f.replay.raise(replayKeys.revokedAccessToken('jti-1'), 1, 3600);
    expect(await f.verify(`Bearer ${f.token}`)).toEqual({ ok: false, reason: 'invalid', detail: 'token revoked' });
    expect(f.replay.reads).toBe(1);
    f.clock.advance(3600);
    expect(await f.verify(`Bearer ${f.token}`)).toEqual({ ok: false, reason: 'invalid', detail: 'expired' });
  });

  it('refuses the token at another resource', async () => {
    const f = await ready();
    expect(await verifyBearer(`Bearer ${f.token}`, { ...f.ctx, resource: 'https://proxy.example.com/other' })).toEqual({
      ok: false,
      reason: 'invalid',
      detail: `audience ${RESOURCE}`,
    });
  });
});

describe('verifyBearer and the opened-token cache', () => {
  it('still refuses a token with whitespace inside that the codec itself opens', async () => {
    const f = await fixture();
    // The base64url decoder skips whitespace, so this opens when handed to the codec directly.
    const spaced = `${f.token.slice(0, -5)} ${f.token.slice(-5)}`;
    expect(await f.codec.openAccess(spaced)).toEqual(f.payload);
    expect(await f.verify(`Bearer ${spaced}`)).toEqual({ ok: false, reason: 'invalid', detail: 'not a Bearer credential' });
  });
});
