import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { capsuleSchemas, type CapsulePayload } from '../domain/capsule-schemas.js';
import type { Clock } from '../domain/clock.js';
import { ProblemError } from '../domain/errors.js';
import type { CapsuleKind, KeyRing } from './keyring.js';
import { OpenedCapsules } from './opened-capsules.js';

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

export class CapsuleCodec {
  #openedAccess: OpenedCapsules<CapsulePayload<'access'>> | undefined;
  #openedSessions: OpenedCapsules<CapsulePayload<'session'>> | undefined;

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
  async #openCached<K extends RequestKind>(kind: K, capsule: string, cache: OpenedCapsules<CapsulePayload<K>>): Promise<CapsulePayload<K>> {
    const hit = cache.get(capsule, this.nowSeconds());
    if (hit !== undefined) return hit;
    const payload = await this.open(kind, capsule);
    if (COMPACT.test(capsule)) cache.set(capsule, payload);
    return payload;
  }

  /**
   * An access token `openAccess` opened before and that has not expired, without waiting for
   * anything; undefined for any other string (openAccess then says why). It is a compact
   * serialization (see COMPACT). Revocation is the caller's to check.
   */
  openedAccess(capsule: string): CapsulePayload<'access'> | undefined {
    return this.#openedAccess?.get(capsule, this.nowSeconds());
  }

  /** An access token, cached once opened. Revocation is the caller's to check. */
  openAccess(capsule: string): Promise<CapsulePayload<'access'>> {
    return this.#openCached('access', capsule, (this.#openedAccess ??= new OpenedCapsules<CapsulePayload<'access'>>(OPENED_PER_KIND)));
  }

  /** A session id, cached once opened. Whose session it is, is the caller's to check. */
  openSession(capsule: string): Promise<CapsulePayload<'session'>> {
    return this.#openCached('session', capsule, (this.#openedSessions ??= new OpenedCapsules<CapsulePayload<'session'>>(OPENED_PER_KIND)));
  }
}
