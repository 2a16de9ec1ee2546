import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** An ES256 key pair of a party that signs JWTs (a client, an identity provider), with its JWKs as it would publish them. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** For signers that take a JWK, such as the MCP SDK's PrivateKeyJwtProvider. */
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    privateKey,
    privateJwk: { ...(await exportJWK(privateKey)), alg: 'ES256', kid },
    publicJwk: { ...(await exportJWK(publicKey)), alg: 'ES256', kid, use: 'sig' },
  };
}
