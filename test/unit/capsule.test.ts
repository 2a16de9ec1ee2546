import { describe, expect, it } from 'vitest';
import { CapsuleError } from '../../src/crypto/capsule.js';
import type { AccessPayload } from '../../src/domain/capsule-schemas.js';
import { codecFor, manualClock, TEST_KEY_A, TEST_KEY_B } from '../support/deps.js';

const access = (exp: number): AccessPayload => ({
  identity: { sub: 'alice', email: 'alice@example.test', email_verified: true },
  upstream: { access_token: 'upstream-at', expires_at: exp },
  cid: 'cid-1',
  scope: '',
  aud: 'https://proxy.example.com/mcp',
  gid: 'grant-1',
  jti: 'jti-1',
  iat: exp - 3600,
  exp,
});

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CapsuleError);
  // Every refusal looks the same to the caller; only the log-side reason differs.
  expect((error as CapsuleError).message).toBe('invalid or expired capsule');
  return (error as CapsuleError).reason;
}

describe('capsules', () => {
  it('round-trips a payload as a compact JWE with dir/A256GCM, kid and typ', async () => {
    const clock = manualClock();
    const { codec, ring } = await codecFor([TEST_KEY_A], clock);
    const payload = access(codec.nowSeconds() + 60);
    const sealed = await codec.seal('access', payload);
    expect(sealed.split('.')).toHaveLength(5);
    const header = JSON.parse(Buffer.from(sealed.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'dir', enc: 'A256GCM', kid: ring.sealing.kid, typ: 'capsule-access' });
    expect(await codec.open('access', sealed)).toEqual(payload);
    // Encrypted, not merely signed: nothing of the payload is readable.
    expect(sealed).not.toContain(Buffer.from('upstream-at').toString('base64url'));
  });

  it('refuses a capsule of another kind, even with the typ header rewritten', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const sealed = await codec.seal('access', access(codec.nowSeconds() + 60));
    expect(await refusal(codec.open('refresh', sealed))).toMatch(/expected capsule-refresh/);
    const [header, ...rest] = sealed.split('.');
    const forged = JSON.parse(Buffer.from(header!, 'base64url').toString());
    forged.typ = 'capsule-refresh';
    const retyped = [Buffer.from(JSON.stringify(forged)).toString('base64url'), ...rest].join('.');
    // The per-kind key (and the header as AAD) stops it.
    expect(await refusal(codec.open('refresh', retyped))).toBe('decryption failed');
  });

  it('refuses a capsule sealed with a key that is not in the ring', async () => {
    const { codec: other } = await codecFor([TEST_KEY_B]);
    const { codec } = await codecFor([TEST_KEY_A]);
    const sealed = await other.seal('access', access(other.nowSeconds() + 60));
    expect(await refusal(codec.open('access', sealed))).toMatch(/unknown kid/);
  });

  it('refuses a tampered ciphertext, tag or header', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const sealed = await codec.seal('access', access(codec.nowSeconds() + 60));
    const parts = sealed.split('.');
    const flip = (part: string) => (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
    for (const index of [2, 3, 4]) {
      const tampered = parts.map((part, i) => (i === index ? flip(part) : part)).join('.');
      await refusal(codec.open('access', tampered));
    }
    await refusal(codec.open('access', 'not.a.capsule'));
    await refusal(codec.open('access', ''));
    await refusal(codec.open('access', 'x'.repeat(20_000)));
  });

  it('refuses an expired capsule', async () => {
    const clock = manualClock();
    const { codec } = await codecFor([TEST_KEY_A], clock);
    const sealed = await codec.seal('access', access(codec.nowSeconds() + 60));
    clock.advance(59);
    await expect(codec.open('access', sealed)).resolves.toBeDefined();
    clock.advance(1);
    expect(await refusal(codec.open('access', sealed))).toBe('expired');
  });

  it('rotates: a new first key seals, the old one still opens, dropping it invalidates', async () => {
    const { codec: before } = await codecFor([TEST_KEY_A]);
    const old = await before.seal('access', access(before.nowSeconds() + 60));
    const { codec: rotated, ring } = await codecFor([TEST_KEY_B, TEST_KEY_A]);
    await expect(rotated.open('access', old)).resolves.toBeDefined();
    const fresh = await rotated.seal('access', access(rotated.nowSeconds() + 60));
    expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).toBe(ring.sealing.kid);
    const { codec: dropped } = await codecFor([TEST_KEY_B]);
    await expect(dropped.open('access', fresh)).resolves.toBeDefined();
    expect(await refusal(dropped.open('access', old))).toMatch(/unknown kid/);
  });

  it('refuses a payload that decrypts but does not match the schema', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const wrong = { ...access(codec.nowSeconds() + 60), aud: 42 } as unknown as AccessPayload;
    const sealed = await codec.seal('access', wrong);
    expect(await refusal(codec.open('access', sealed))).toMatch(/schema/);
  });

  it('answers from the opened-capsule cache only the capsule it opened, not another with its tag', async () => {
    const clock = manualClock();
    const { codec } = await codecFor([TEST_KEY_A], clock);
    const payload = access(codec.nowSeconds() + 60);
    const sealed = await codec.seal('access', payload);
    const session = await codec.seal('session', { sid: 'downstream-session', route: '/mcp', sub: 'alice' });
    // Control: once opened, the same capsule is answered from the cache (the very same payload object).
    const opened = await codec.openAccess(sealed);
    expect(opened).toEqual(payload);
    expect(await codec.openAccess(sealed)).toBe(opened);
    expect(codec.openedAccess(sealed)).toBe(opened);
    const openedSession = await codec.openSession(session);
    expect(await codec.openSession(session)).toBe(openedSession);

    // The cache finds entries by the capsule's last part, the GCM tag: a capsule with another
    // header, IV or ciphertext and the cached one's tag must go through the whole open, and fail.
    const flip = (part: string) => (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
    for (const [capsule, open] of [
      [sealed, (c: string) => codec.openAccess(c)],
      [session, (c: string) => codec.openSession(c)],
    ] as const) {
      const parts = capsule.split('.');
      for (const index of [0, 2, 3]) {
        const tampered = parts.map((part, i) => (i === index ? flip(part) : part)).join('.');
        expect(tampered.slice(tampered.lastIndexOf('.'))).toBe(capsule.slice(capsule.lastIndexOf('.')));
        expect(codec.openedAccess(tampered)).toBeUndefined();
        await refusal(open(tampered));
      }
    }
    // The forgeries left the genuine entries in place.
    expect(codec.openedAccess(sealed)).toBe(opened);
    expect(await codec.openSession(session)).toBe(openedSession);
  });
});
