import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { LRUCache } from 'lru-cache';
import { capsuleSchemas, type CapsulePayload } from './capsule-schemas.js';
import type { CapsuleKind, KeyRing } from './keyring.js';

export type Clock = () => number;

/**
 * One error for every way a capsule can fail to open, so a caller (and an
 * attacker) learns nothing about why; `reason` is for the log only.
 */
export class CapsuleError extends Error {
  readonly code = 'invalid_capsule';
  constructor(readonly reason: string) {
    super('invalid or expired capsule');
    this.name = 'CapsuleError';
  }
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const typFor = (kind: CapsuleKind) => `capsule-${kind}`;

// A capsule larger than this is not one of ours; refuse before any crypto.
const MAX_CAPSULE_LENGTH = 16 * 1024;

export interface Sealed {
  readonly value: string;
  readonly kid: string;
}

/** Opened access tokens kept, so a client's next request skips the decrypt and the schema check. */
const OPENED_ACCESS_TOKENS = 10_000;

export class CapsuleCodec {
  /** Access token → its payload; only tokens that opened and validated, each until its `exp`. */
  #openedAccess: LRUCache<string, CapsulePayload<'access'>> | undefined;

  constructor(
    private readonly keys: KeyRing,
    private readonly clock: Clock = Date.now,
  ) {}

  nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  async seal<K extends CapsuleKind>(kind: K, payload: CapsulePayload<K>): Promise<string> {
    const { kid, capsuleKeys } = this.keys.sealing;
    return new CompactEncrypt(encoder.encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, typ: typFor(kind) })
      .encrypt(capsuleKeys[kind]);
  }

  /** Opens and validates a capsule; returns the kid that sealed it alongside the payload. */
  async openWithKid<K extends CapsuleKind>(kind: K, capsule: string): Promise<{ payload: CapsulePayload<K>; kid: string }> {
    if (typeof capsule !== 'string' || capsule.length > MAX_CAPSULE_LENGTH) throw new CapsuleError('not a capsule-sized string');
    let header;
    try {
      header = decodeProtectedHeader(capsule);
    } catch {
      throw new CapsuleError('malformed protected header');
    }
    if (header.typ !== typFor(kind)) throw new CapsuleError(`expected ${typFor(kind)}, got ${String(header.typ)}`);
    if (header.alg !== 'dir' || header.enc !== 'A256GCM') throw new CapsuleError('unexpected algorithm');
    const keySet = typeof header.kid === 'string' ? this.keys.find(header.kid) : undefined;
    if (!keySet) throw new CapsuleError(`unknown kid ${String(header.kid)}`);

    let plaintext: Uint8Array;
    try {
      ({ plaintext } = await compactDecrypt(capsule, keySet.capsuleKeys[kind], {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      }));
    } catch {
      throw new CapsuleError('decryption failed');
    }

    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(plaintext));
    } catch {
      throw new CapsuleError('payload is not JSON');
    }
    const parsed = capsuleSchemas[kind].safeParse(json);
    if (!parsed.success) throw new CapsuleError(`payload does not match the ${kind} schema`);
    const payload = parsed.data as CapsulePayload<K>;
    if ('exp' in payload && typeof payload.exp === 'number' && payload.exp <= this.nowSeconds()) {
      throw new CapsuleError('expired');
    }
    return { payload, kid: keySet.kid };
  }

  async open<K extends CapsuleKind>(kind: K, capsule: string): Promise<CapsulePayload<K>> {
    return (await this.openWithKid(kind, capsule)).payload;
  }

  /**
   * `open('access', …)` for the request path: an access token that opened before is answered from a
   * cache bounded by count and by the token's own expiry (checked against the clock on every hit),
   * so a client's calls cost one decrypt per token, not one per request. Failures are never cached.
   * The payload is shared between hits: treat it as read-only. Revocation is the caller's to check.
   */
  async openAccess(capsule: string): Promise<CapsulePayload<'access'>> {
    const cache = (this.#openedAccess ??= new LRUCache<string, CapsulePayload<'access'>>({ max: OPENED_ACCESS_TOKENS }));
    const hit = cache.get(capsule);
    if (hit !== undefined) {
      if (hit.exp > this.nowSeconds()) return hit;
      cache.delete(capsule);
      throw new CapsuleError('expired');
    }
    const payload = await this.open('access', capsule);
    // The entry leaves by itself at the token's expiry (measured on lru-cache's clock; hits re-check ours).
    cache.set(capsule, payload, { ttl: Math.max(1, payload.exp - this.nowSeconds()) * 1000 });
    return payload;
  }
}
