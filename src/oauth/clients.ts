import type { CapsuleCodec } from '../crypto/capsule.js';
import { CapsuleError } from '../crypto/capsule.js';
import type { ClientRegistration } from '../crypto/capsule-schemas.js';
import { shortDigest } from '../crypto/encoding.js';

/** A client_id that opened: its registration, the key that sealed it, and its digest for other capsules. */
export interface ResolvedClient {
  readonly clientId: string;
  readonly registration: ClientRegistration;
  readonly kid: string;
  readonly cid: string;
}

/** Dynamically registered clients carry their registration inside the client_id itself. */
export async function resolveClient(capsules: CapsuleCodec, clientId: string): Promise<ResolvedClient | undefined> {
  try {
    const { payload, kid } = await capsules.openWithKid('client', clientId);
    return { clientId, registration: payload, kid, cid: await shortDigest(clientId) };
  } catch (error) {
    if (error instanceof CapsuleError) return undefined;
    throw error;
  }
}

export function isConfidential(client: ResolvedClient): boolean {
  return client.registration.token_endpoint_auth_method !== 'none';
}
