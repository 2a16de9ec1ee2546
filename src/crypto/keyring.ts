import { base64url } from 'jose';
import { sha256, utf8 } from './encoding.js';

export const CAPSULE_KINDS = ['client', 'pending', 'transaction', 'consent', 'code', 'access', 'refresh', 'session'] as const;
export type CapsuleKind = (typeof CAPSULE_KINDS)[number];

/** The keys derived from one master key: one AES key per capsule kind, one HMAC key for client secrets. */
export interface DerivedKeySet {
  readonly kid: string;
  readonly capsuleKeys: Readonly<Record<CapsuleKind, CryptoKey>>;
  readonly clientSecretKey: CryptoKey;
}

const HKDF_SALT = utf8('mcp-capsule/v1');

async function deriveBytes(master: CryptoKey, info: string): Promise<Uint8Array<ArrayBuffer>> {
  const bits = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: HKDF_SALT, info: utf8(info) }, master, 256);
  return new Uint8Array(bits);
}

/** A public, stable identifier of a master key that reveals nothing about it. */
export async function keyId(masterKey: Uint8Array): Promise<string> {
  const digest = await sha256(new Uint8Array([...utf8('mcp-capsule/kid'), ...masterKey]));
  return base64url.encode(digest).slice(0, 8);
}

async function deriveKeySet(masterKey: Uint8Array): Promise<DerivedKeySet> {
  const master = await crypto.subtle.importKey('raw', new Uint8Array(masterKey), 'HKDF', false, ['deriveBits']);
  const entries = await Promise.all(
    CAPSULE_KINDS.map(async (kind) => {
      const raw = await deriveBytes(master, `capsule:${kind}`);
      const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
      return [kind, key] as const;
    }),
  );
  const clientSecretKey = await crypto.subtle.importKey(
    'raw',
    await deriveBytes(master, 'client-secret'),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  return {
    kid: await keyId(masterKey),
    capsuleKeys: Object.fromEntries(entries) as Record<CapsuleKind, CryptoKey>,
    clientSecretKey,
  };
}

/**
 * Master keys newest first: the first seals, every one opens. All derived keys
 * are imported once here so the hot path never imports a key.
 */
export class KeyRing {
  private constructor(
    readonly sealing: DerivedKeySet,
    private readonly byKid: ReadonlyMap<string, DerivedKeySet>,
  ) {}

  static async create(masterKeys: readonly Uint8Array[]): Promise<KeyRing> {
    if (masterKeys.length === 0) throw new Error('the key ring needs at least one key');
    const sets = await Promise.all(masterKeys.map(deriveKeySet));
    return new KeyRing(sets[0]!, new Map(sets.map((set) => [set.kid, set])));
  }

  get kids(): string[] {
    return [...this.byKid.keys()];
  }

  find(kid: string): DerivedKeySet | undefined {
    return this.byKid.get(kid);
  }
}

export function generateMasterKey(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}
