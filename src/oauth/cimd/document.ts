import * as z from 'zod';
import { clientNameSchema } from '../../config/client-name.js';
import { redirectUriProblem } from '../../config/redirect-uri.js';
import { isLoopbackHost } from '../../net/loopback.js';
import { JWT_BEARER_GRANT_TYPE } from '../../domain/grant-types.js';
import { publicJwksSchema, type PublicJwks } from '../../domain/public-jwks.js';

/** The JWS algorithms a client may sign its assertions with: asymmetric only. */
export const CLIENT_ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'] as const;

export type ClientMetadataAuthMethod = 'none' | 'private_key_jwt';
export type ClientMetadataGrantType = 'authorization_code' | 'refresh_token' | typeof JWT_BEARER_GRANT_TYPE;

/** A validated client metadata document: what the proxy relies on, nothing more. */
export interface ClientMetadataDocument {
  readonly client_id: string;
  readonly client_name: string;
  readonly redirect_uris: readonly string[];
  readonly token_endpoint_auth_method: ClientMetadataAuthMethod;
  readonly grant_types: readonly ClientMetadataGrantType[];
  readonly response_types: readonly ['code'];
  readonly jwks_uri?: string;
  readonly jwks?: PublicJwks;
  readonly scope?: string;
  /** Display-only fields, kept only when they are https URLs. */
  readonly client_uri?: string;
  readonly logo_uri?: string;
  readonly tos_uri?: string;
  readonly policy_uri?: string;
  readonly contacts?: readonly string[];
  readonly software_id?: string;
  readonly software_version?: string;
}

export interface DocumentContext {
  /** The URL the document was fetched from, i.e. the client_id. */
  readonly clientId: string;
  /** Private-use redirect schemes on the operator's allowlist, as for dynamic registration. */
  readonly redirectSchemes: readonly string[];
  /** Development only: accept a jwks_uri on http loopback. */
  readonly allowHttpLoopback?: boolean;
}

const SHARED_SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);
const KNOWN_GRANTS = new Set<string>(['authorization_code', 'refresh_token', JWT_BEARER_GRANT_TYPE]);

const shortText = z.string().max(200);
const rawDocument = z.looseObject({
  client_id: z.string(),
  client_name: clientNameSchema,
  redirect_uris: z.array(z.string()).min(1).max(20),
  token_endpoint_auth_method: z.string().default('none'),
  grant_types: z.array(z.string()).max(10).default(['authorization_code']),
  response_types: z.array(z.string()).max(5).default(['code']),
  jwks_uri: z.string().max(2000).optional(),
  jwks: publicJwksSchema.optional(),
  scope: z.string().max(1000).optional(),
  client_uri: z.string().max(2000).optional(),
  logo_uri: z.string().max(2000).optional(),
  tos_uri: z.string().max(2000).optional(),
  policy_uri: z.string().max(2000).optional(),
  contacts: z.array(z.string().max(320)).max(10).optional(),
  software_id: shortText.optional(),
  software_version: shortText.optional(),
});
type RawDocument = z.infer<typeof rawDocument>;

function httpsUrl(value: string | undefined, allowHttpLoopback: boolean): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.username || url.password || url.hash) return undefined;
    if (url.protocol === 'https:' || (allowHttpLoopback && url.protocol === 'http:' && isLoopbackHost(url.hostname))) return value;
  } catch {
    // not a URL: treated like a missing value
  }
  return undefined;
}

function check(doc: RawDocument, context: DocumentContext, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (doc.client_id !== context.clientId) issue('client_id', 'must equal the URL the document was fetched from');
  if ('client_secret' in doc) issue('client_secret', 'must not be present: CIMD clients have no shared secret');
  if ('client_secret_expires_at' in doc) issue('client_secret_expires_at', 'must not be present: CIMD clients have no shared secret');
  doc.redirect_uris.forEach((uri, index) => {
    const problem = redirectUriProblem(uri, context.redirectSchemes);
    if (problem) ctx.addIssue({ code: 'custom', path: ['redirect_uris', index], message: problem });
  });
  const method = doc.token_endpoint_auth_method;
  if (SHARED_SECRET_METHODS.has(method)) issue('token_endpoint_auth_method', `${method} needs a shared secret, which CIMD forbids`);
  else if (method !== 'none' && method !== 'private_key_jwt') issue('token_endpoint_auth_method', `${method} is not supported`);
  if (doc.jwks_uri !== undefined && doc.jwks !== undefined) issue('jwks', 'must not be given together with jwks_uri');
  if (doc.jwks_uri !== undefined && !httpsUrl(doc.jwks_uri, context.allowHttpLoopback ?? false)) issue('jwks_uri', 'must be an https URL');
  if (method === 'private_key_jwt' && doc.jwks_uri === undefined && doc.jwks === undefined) {
    issue('token_endpoint_auth_method', 'private_key_jwt needs jwks_uri or jwks');
  }
  if (!doc.grant_types.includes('authorization_code')) issue('grant_types', 'must include authorization_code');
  if (doc.response_types.length === 0 || doc.response_types.some((type) => type !== 'code')) issue('response_types', 'must be ["code"]');
}

function normalize(doc: RawDocument, context: DocumentContext): ClientMetadataDocument {
  const dev = context.allowHttpLoopback ?? false;
  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    client_id: doc.client_id,
    client_name: doc.client_name,
    redirect_uris: doc.redirect_uris,
    token_endpoint_auth_method: doc.token_endpoint_auth_method as ClientMetadataAuthMethod,
    grant_types: [...new Set(doc.grant_types.filter((grant) => KNOWN_GRANTS.has(grant)))] as ClientMetadataGrantType[],
    response_types: ['code'],
    ...optional('jwks_uri', doc.jwks_uri),
    ...optional('jwks', doc.jwks),
    ...optional('scope', doc.scope),
    ...optional('client_uri', httpsUrl(doc.client_uri, dev)),
    ...optional('logo_uri', httpsUrl(doc.logo_uri, dev)),
    ...optional('tos_uri', httpsUrl(doc.tos_uri, dev)),
    ...optional('policy_uri', httpsUrl(doc.policy_uri, dev)),
    ...optional('contacts', doc.contacts),
    ...optional('software_id', doc.software_id),
    ...optional('software_version', doc.software_version),
  };
}

/**
 * The schema of a client metadata document fetched from `context.clientId` (CIMD §4.1,
 * MCP 2025-11-25): client_id equal to the URL, client_name and redirect_uris required,
 * redirect URIs under the same rules as dynamic registration, public clients or
 * private_key_jwt only. Unknown members (application_type, …) are ignored.
 */
export function clientMetadataDocumentSchema(context: DocumentContext) {
  return rawDocument.superRefine((doc, ctx) => check(doc, context, ctx)).transform((doc) => normalize(doc, context));
}

export type DocumentParseResult = { ok: true; document: ClientMetadataDocument } | { ok: false; problem: string };

/** Validates parsed JSON; the problem names the first offending member, for the log. */
export function parseClientMetadataDocument(json: unknown, context: DocumentContext): DocumentParseResult {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, problem: 'the document is not a JSON object' };
  const result = clientMetadataDocumentSchema(context).safeParse(json);
  if (result.success) return { ok: true, document: result.data };
  const first = result.error.issues[0]!;
  const path = first.path.map((part) => (typeof part === 'number' ? `[${part}]` : String(part))).join('.').replace(/\.\[/g, '[');
  return { ok: false, problem: `${path || 'document'}: ${first.message}` };
}

export function isConfidentialDocument(document: ClientMetadataDocument): boolean {
  return document.token_endpoint_auth_method === 'private_key_jwt';
}
