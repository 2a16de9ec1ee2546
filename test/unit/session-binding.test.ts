import { describe, expect, it } from 'vitest';
import { CapsuleError } from '../../src/crypto/capsule.js';
import { checkSessionId, clientSessionIds, type SessionOwner } from '../../src/mcp/session-binding.js';
import { codecFor, TEST_KEY_A } from '../support/deps.js';

const SID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const ALICE: SessionOwner = { route: '/mcp', sub: 'alice', cid: 'cid-a' };

describe('session capsules', () => {
  it('only a session capsule opens as a session, and a session capsule as nothing else', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const now = codec.nowSeconds();
    const access = await codec.seal('access', {
      identity: { sub: 'alice' }, upstream: { access_token: 'at' }, cid: 'cid-a', scope: '', aud: 'https://proxy.test/mcp', gid: 'g', jti: 'j', iat: now, exp: now + 60,
    });
    await expect(codec.openSession(access)).rejects.toBeInstanceOf(CapsuleError);
    const session = await codec.seal('session', { sid: SID, ...ALICE });
    await expect(codec.openAccess(session)).rejects.toBeInstanceOf(CapsuleError);
    await expect(codec.open('client', session)).rejects.toBeInstanceOf(CapsuleError);
    expect(await codec.openSession(session)).toEqual({ sid: SID, ...ALICE });
  });

  it('an opened session capsule is answered from the cache on the next request', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const session = await codec.seal('session', { sid: SID, ...ALICE });
    const first = await codec.openSession(session);
    expect(await codec.openSession(session)).toBe(first);
  });
});

describe('checkSessionId', () => {
  it('opens the id of the same owner and refuses it to any other owner, route, or credential', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const sealed = await codec.seal('session', { sid: SID, ...ALICE });
    expect(await checkSessionId(codec, sealed, ALICE)).toEqual({ ok: true, presented: sealed, downstreamId: SID });
    for (const other of [
      { ...ALICE, route: '/other' },
      { ...ALICE, sub: 'bob' },
      { ...ALICE, cid: 'cid-b' },
      { ...ALICE, caller: 'digest' },
      { route: '/mcp' },
    ]) {
      expect(await checkSessionId(codec, sealed, other)).toMatchObject({ ok: false });
    }
    expect(await checkSessionId(codec, SID, ALICE)).toMatchObject({ ok: false });
    expect(await checkSessionId(codec, '', ALICE)).toMatchObject({ ok: false });
    expect(await checkSessionId(codec, undefined, ALICE)).toEqual({ ok: true });
  });

  it('a bearer of its own credential keeps its session; another credential does not', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const sealed = await codec.seal('session', { sid: SID, route: '/pat', caller: 'digest-1' });
    expect(await checkSessionId(codec, sealed, { route: '/pat', caller: 'digest-1' })).toMatchObject({ ok: true, downstreamId: SID });
    expect(await checkSessionId(codec, sealed, { route: '/pat', caller: 'digest-2' })).toMatchObject({ ok: false });
  });
});

describe('clientSessionIds', () => {
  it('gives back the presented id for the same session, and seals a new session for the same owner', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const sealed = await codec.seal('session', { sid: SID, ...ALICE });
    const check = await checkSessionId(codec, sealed, ALICE);
    if (!check.ok) throw new Error(check.detail);
    const idFor = clientSessionIds(codec, check, ALICE);
    expect(await idFor(SID)).toBe(sealed);
    const fresh = await idFor('another-session');
    expect(fresh).toMatch(/^[\x21-\x7E]+$/);
    expect(await codec.openSession(fresh)).toEqual({ sid: 'another-session', ...ALICE });
    // Initialize: nothing presented, so the downstream's id is sealed.
    expect(await codec.openSession(await clientSessionIds(codec, { ok: true }, ALICE)(SID))).toEqual({ sid: SID, ...ALICE });
  });
});
