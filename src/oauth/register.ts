import * as z from 'zod';
import type { CapsuleCodec } from '../crypto/capsule.js';
import { JWT_BEARER_GRANT_TYPE } from '../domain/grant-types.js';
import { TOKEN_ENDPOINT_AUTH_METHODS, type ClientRegistration } from '../domain/capsule-schemas.js';
import { deriveClientSecret } from '../crypto/client-secret.js';
import type { KeyRing } from '../crypto/keyring.js';
import { clientNameSchema, DISPLAYABLE_NAME_RULE } from '../config/client-name.js';
import { invalidClientMetadata, invalidRedirectUri, OAuthError } from './errors.js';
import { redirectUriProblem } from '../config/redirect-uri.js';

const MAX_TEXT = 200;
const MAX_URI = 2000;
/**
 * The registration travels inside the client_id, and the client_id in every
 * /authorize URL: capping what is sealed keeps client_ids under about 4 KB.
 */
export const MAX_SEALED_REGISTRATION_BYTES = 3000;
const SUPPORTED_GRANT_TYPES = ['authorization_code', 'refresh_token', JWT_BEARER_GRANT_TYPE] as const;

/**
 * RFC 7591 client metadata we register. Unknown members (application_type,
 * contacts, …) are ignored, as §2 allows; defaults are the RFC's.
 */
export const registrationRequestSchema = z.object({
  redirect_uris: z.array(z.string()).min(1).max(20),
  token_endpoint_auth_method: z.enum(TOKEN_ENDPOINT_AUTH_METHODS).default('client_secret_basic'),
  grant_types: z.array(z.enum(SUPPORTED_GRANT_TYPES)).min(1).default(['authorization_code']),
  response_types: z.array(z.literal('code')).min(1).default(['code']),
  client_name: clientNameSchema.optional(),
  client_uri: z.url({ protocol: /^https$/ }).max(MAX_URI).optional(),
  logo_uri: z.url({ protocol: /^https$/ }).max(MAX_URI).optional(),
  scope: z.string().max(1000).optional(),
  software_id: z.string().max(MAX_TEXT).optional(),
  software_version: z.string().max(MAX_TEXT).optional(),
});

function metadataError(error: z.ZodError): OAuthError {
  const issue = error.issues[0]!;
  const field = String(issue.path[0] ?? 'body');
  if (field === 'redirect_uris') return invalidRedirectUri('redirect_uris must be a non-empty array of URIs.');
  if (field === 'token_endpoint_auth_method') {
    return invalidClientMetadata(`token_endpoint_auth_method must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}.`);
  }
  if (field === 'grant_types') return invalidClientMetadata(`grant_types may contain only ${SUPPORTED_GRANT_TYPES.join(', ')}.`);
  if (field === 'response_types') return invalidClientMetadata('response_types may contain only code.');
  if (field === 'client_name') return invalidClientMetadata(`client_name ${DISPLAYABLE_NAME_RULE}.`);
  return invalidClientMetadata(`The ${field} field is invalid.`);
}

export interface RegistrationResult {
  readonly body: Record<string, unknown>;
}

/**
 * Stateless registration: the registration is sealed into the client_id itself,
 * and a confidential client's secret is derived from it, so nothing is stored.
 */
export async function registerClient(
  input: unknown,
  deps: { capsules: CapsuleCodec; keys: KeyRing; redirectSchemes: readonly string[] },
): Promise<RegistrationResult> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidClientMetadata('The request body must be a JSON object.');
  }
  const parsed = registrationRequestSchema.safeParse(input);
  if (!parsed.success) throw metadataError(parsed.error);
  const request = parsed.data;

  for (const uri of request.redirect_uris) {
    const problem = redirectUriProblem(uri, deps.redirectSchemes);
    if (problem) throw invalidRedirectUri(`The redirect URI ${uri.slice(0, 120)} ${problem}.`);
  }

  const registration: ClientRegistration = { ...request, iat: deps.capsules.nowSeconds() };
  if (new TextEncoder().encode(JSON.stringify(registration)).byteLength > MAX_SEALED_REGISTRATION_BYTES) {
    throw invalidClientMetadata(`The client metadata is too large to register (at most ${MAX_SEALED_REGISTRATION_BYTES} bytes of registered fields).`);
  }
  const clientId = await deps.capsules.seal('client', registration);
  const { iat, ...metadata } = registration;
  const body: Record<string, unknown> = { client_id: clientId, client_id_issued_at: iat, ...metadata };
  if (registration.token_endpoint_auth_method !== 'none') {
    body.client_secret = await deriveClientSecret(deps.keys, deps.keys.sealing.kid, clientId);
    body.client_secret_expires_at = 0;
  }
  return { body };
}
