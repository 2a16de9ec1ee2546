import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { LRUCache } from 'lru-cache';
import { capsuleSchemas, type CapsulePayload } from '../domain/capsule-schemas.js';
import type { Clock } from '../domain/clock.js';
import { ProblemError } from '../domain/errors.js';
import type { CapsuleKind, KeyRing } from './keyring.js';

/**
 * One error for every way a capsule can fail to open, so a caller (and an
 * attacker) learns nothing about why; the reason is the detail, for the log only.
 */
export class CapsuleError extends ProblemError {
  override readonly name = 'CapsuleError';
  declare readonly code: 'invalid_capsule';
  declare readonly detail: string;

  constructor(reason: string, cause?: unknown) {
    super('invalid_capsule', 'invalid or expired capsule', { detail: reason, cause });
  }

  /** The detail, under the name callers of earlier versions read it by. */
  get reason(): string {
    return this.detail;
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

/** Opened capsules kept per cached kind, so a client's next request skips the decrypt and the schema check. */
const OPENED_PER_KIND = 10_000;

/**
 * A JWE compact serialization as `seal` writes it: five base64url parts. Only these are cached,
 * so whatever a cache hit answers for is known to be of this form (a form `open` does not
 * insist on: the base64url decoder skips whitespace).
 */
const COMPACT = /^[\w-]+(?:\.[\w-]*){4}$/;

/** The kinds a client presents on every request. */
type RequestKind = 'access' | 'session';

/** An opened capsule as its cache keeps it: the capsule itself, compared whole on every hit. */
interface Opened<K extends RequestKind> {
  readonly capsule: string;
  readonly payload: CapsulePayload<K>;
}
type OpenedCache<K extends RequestKind> = LRUCache<string, Opened<K>>;

/**
 * The cache key of a compact capsule: its last part, the AES-GCM tag (22 characters), rather than
 * the whole token, which is a kilobyte for an access token carrying an upstream one and would be
 * hashed on every request. A key is only where to look: a hit counts only if the cached capsule is
 * the presented one, character for character, so a forged capsule with a copied tag is a miss.
 */
function cacheKey(capsule: string): string {
  return capsule.slice(capsule.lastIndexOf('.') + 1);
}

export class CapsuleCodec {
  /** Capsules that opened and validated, with their payloads, each until its `exp` if it has one (see cacheKey). */
  #openedAccess: OpenedCache<'access'> | undefined;
  #openedSessions: OpenedCache<'session'> | undefined;

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
    } catch (error) {
      throw new CapsuleError('malformed protected header', error);
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
    } catch (error) {
      throw new CapsuleError('decryption failed', error);
    }

    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(plaintext));
    } catch (error) {
      throw new CapsuleError('payload is not JSON', error);
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
   * `open(kind, …)` for the request path: a capsule that opened before is answered from a cache
   * bounded by count and by the capsule's own expiry, if it has one (checked against the clock on
   * every hit), so a client's calls cost one decrypt per capsule, not one per request. Failures
   * are never cached. The payload is shared between hits: treat it as read-only.
   */
  async #openCached<K extends RequestKind>(kind: K, capsule: string, cache: OpenedCache<K>): Promise<CapsulePayload<K>> {
    const key = cacheKey(capsule);
    const hit = cache.get(key);
    if (hit !== undefined && hit.capsule === capsule) {
      const exp = (hit.payload as { exp?: number }).exp;
      if (exp === undefined || exp > this.nowSeconds()) return hit.payload;
      cache.delete(key);
      throw new CapsuleError('expired');
    }
    const payload = await this.open(kind, capsule);
    if (!COMPACT.test(capsule)) return payload;
    const exp = (payload as { exp?: number }).exp;
    // The entry leaves by itself at the capsule's expiry (measured on lru-cache's clock; hits re-check ours).
    cache.set(key, { capsule, payload }, exp === undefined ? undefined : { ttl: Math.max(1, exp - this.nowSeconds()) * 1000 });
    return payload;
  }

  /**
   * An access token `openAccess` opened before and that has not expired, without waiting for
   * anything; undefined for any other string (openAccess then says why). It is a compact
   * serialization (see COMPACT). Revocation is the caller's to check.
   */
  openedAccess(capsule: string): CapsulePayload<'access'> | undefined {
    const hit = this.#openedAccess?.get(cacheKey(capsule));
    return hit !== undefined && hit.capsule === capsule && hit.payload.exp > this.nowSeconds() ? hit.payload : undefined;
  }

  /** An access token, cached once opened. Revocation is the caller's to check. */
  openAccess(capsule: string): Promise<CapsulePayload<'access'>> {
    return this.#openCached('access', capsule, (this.#openedAccess ??= new LRUCache({ max: OPENED_PER_KIND })));
  }

  /** A session id, cached once opened. Whose session it is, is the caller's to check. */
  openSession(capsule: string): Promise<CapsulePayload<'session'>> {
    return this.#openCached('session', capsule, (this.#openedSessions ??= new LRUCache({ max: OPENED_PER_KIND })));
  }
}
