import * as z from 'zod';

/**
 * What each capsule kind carries. Every payload is parsed with its schema after
 * decryption: a capsule that decrypts is still not trusted until it parses.
 * Token payloads name the client by `cid`, a digest of its client_id, because
 * a client_id is itself a capsule and would double their size.
 */

const epochSeconds = z.number().int().nonnegative();

/** Who the upstream provider says the user is; policy may use email only when `email_verified` is true. */
export const identitySchema = z.object({
  sub: z.string().min(1),
  email: z.string().optional(),
  email_verified: z.boolean().optional(),
  name: z.string().optional(),
  /** Group or role names from a configured upstream claim, for access policy. */
  groups: z.array(z.string()).max(200).optional(),
});
export type Identity = z.infer<typeof identitySchema>;

/** The user's tokens at the upstream provider; they never leave a capsule except toward the downstream. */
export const upstreamTokensSchema = z.object({
  access_token: z.string().min(1),
  expires_at: epochSeconds.optional(),
  refresh_token: z.string().min(1).optional(),
  /** Kept only where a route exchanges it for the downstream's token (token-exchange with subjectToken id_token). */
  id_token: z.string().min(1).optional(),
});
export type UpstreamTokens = z.infer<typeof upstreamTokensSchema>;

export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_post', 'client_secret_basic'] as const;

export const clientCapsuleSchema = z.object({
  redirect_uris: z.array(z.string()).min(1),
  token_endpoint_auth_method: z.enum(TOKEN_ENDPOINT_AUTH_METHODS),
  grant_types: z.array(z.string()),
  response_types: z.array(z.string()),
  client_name: z.string().optional(),
  client_uri: z.string().optional(),
  logo_uri: z.string().optional(),
  scope: z.string().optional(),
  software_id: z.string().optional(),
  software_version: z.string().optional(),
  iat: epochSeconds,
});

/** An authorization request that passed validation, waiting for consent and then the upstream login. */
export const authorizationRequestSchema = z.object({
  cid: z.string(),
  client_name: z.string().optional(),
  redirect_uri: z.string(),
  state: z.string().optional(),
  code_challenge: z.string(),
  scope: z.string(),
  resource: z.string(),
  refresh: z.boolean(),
  /** The proxy's own PKCE verifier and OIDC nonce for the upstream leg. */
  upstream_verifier: z.string(),
  upstream_nonce: z.string(),
  /** Digest of the random value in this browser's binding cookie. */
  binding: z.string(),
  /** What an approval is remembered under: the client, the registered redirect URI the request matched, and the resource. */
  consent_key: z.string(),
  jti: z.string(),
  exp: epochSeconds,
});

/**
 * Approvals of format 3 name the scopes approved, those of format 2 the MCP server as well as the
 * client and redirect URI. Cookies of an earlier format do not parse, so they grant nothing and
 * the next approval replaces them.
 */
export const CONSENT_FORMAT = 3;

export const consentCapsuleSchema = z.object({
  v: z.literal(CONSENT_FORMAT),
  approvals: z.array(z.object({ key: z.string(), at: epochSeconds, scope: z.string() })).max(50),
  exp: epochSeconds,
});

export const codeCapsuleSchema = z.object({
  identity: identitySchema,
  upstream: upstreamTokensSchema,
  cid: z.string(),
  redirect_uri: z.string(),
  code_challenge: z.string(),
  scope: z.string(),
  resource: z.string(),
  refresh: z.boolean(),
  jti: z.string(),
  exp: epochSeconds,
});

export const accessCapsuleSchema = z.object({
  identity: identitySchema,
  /**
   * Only the upstream access token: refresh tokens stay in refresh capsules so bearer headers stay small.
   * Absent from tokens of grants without a user's upstream session (client credentials, identity assertions).
   */
  upstream: upstreamTokensSchema.omit({ refresh_token: true }).optional(),
  cid: z.string(),
  scope: z.string(),
  aud: z.string(),
  gid: z.string(),
  jti: z.string(),
  iat: epochSeconds,
  exp: epochSeconds,
});

export const refreshCapsuleSchema = z.object({
  identity: identitySchema,
  upstream: upstreamTokensSchema,
  cid: z.string(),
  scope: z.string(),
  aud: z.string(),
  /** The grant: every token descending from one authorization code shares it. */
  gid: z.string(),
  /** Rotation counter; presenting an already-consumed generation revokes the grant. */
  gen: z.number().int().nonnegative(),
  jti: z.string(),
  iat: epochSeconds,
  exp: epochSeconds,
});

/**
 * A downstream MCP session id as the client holds it: sealed with who may use it. No expiry: the
 * downstream ends its sessions, and the capsule is never a credential (each request still needs
 * its own valid token, or its own PAT or client credentials), so a lifetime would only cut live
 * sessions short. Retiring the key that sealed them ends them all.
 */
export const sessionCapsuleSchema = z.object({
  /** The downstream's own session id, unchanged. */
  sid: z.string().min(1),
  /** The route's path. */
  route: z.string(),
  /** The signed-in user's subject and client (`cid`), on routes where users sign in. */
  sub: z.string().optional(),
  cid: z.string().optional(),
  /** A digest of the client's own credential (PAT, client credentials), on routes where the client brings one. */
  caller: z.string().optional(),
});

export const capsuleSchemas = {
  client: clientCapsuleSchema,
  pending: authorizationRequestSchema,
  transaction: authorizationRequestSchema,
  consent: consentCapsuleSchema,
  code: codeCapsuleSchema,
  access: accessCapsuleSchema,
  refresh: refreshCapsuleSchema,
  session: sessionCapsuleSchema,
};

/** One schema per capsule kind of the key ring; the codec's types fail to compile when a kind has none. */
export type CapsulePayload<K extends keyof typeof capsuleSchemas> = z.infer<(typeof capsuleSchemas)[K]>;
export type ClientRegistration = CapsulePayload<'client'>;
export type AuthorizationRequest = CapsulePayload<'transaction'>;
export type CodePayload = CapsulePayload<'code'>;
export type AccessPayload = CapsulePayload<'access'>;
export type RefreshPayload = CapsulePayload<'refresh'>;
export type SessionPayload = CapsulePayload<'session'>;
