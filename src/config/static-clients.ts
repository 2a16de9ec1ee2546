import * as z from 'zod';
import { JWT_BEARER_GRANT_TYPE } from '../domain/grant-types.js';
import { configuredJwksSchema } from '../domain/public-jwks.js';
import { clientNameSchema } from './client-name.js';
import { secureUrl } from './primitives.js';

/** The grants a configured client may be given; client_credentials and jwt-bearer only to a confidential one. */
export const STATIC_CLIENT_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', JWT_BEARER_GRANT_TYPE] as const;
const CONFIDENTIAL_GRANT_TYPES = ['client_credentials', JWT_BEARER_GRANT_TYPE] as const;

/**
 * Clients the operator registers in configuration, for deployments that turn
 * open registration off, want fixed credentials, run agents without a browser
 * (client_credentials) or exchange identity assertions (jwt-bearer). Redirect URIs
 * follow the same rules as dynamic registration (checked where the schemes are known).
 */
export const staticClientSchema = z
  .strictObject({
    client_id: z
      .string()
      .min(1)
      .max(200)
      .refine((id) => !/^https?:\/\//i.test(id), 'must not be a URL (URL client_ids are client metadata documents)'),
    client_secret: z.string().min(16, 'must be at least 16 characters').optional(),
    client_name: clientNameSchema.optional(),
    redirect_uris: z.array(z.string().min(1)).default([]),
    token_endpoint_auth_method: z.enum(['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt']).optional(),
    grant_types: z.array(z.enum(STATIC_CLIENT_GRANT_TYPES)).min(1).default(['authorization_code', 'refresh_token']),
    /** private_key_jwt: the client's public keys, inline or at a URL (one of the two). */
    jwks: configuredJwksSchema.optional(),
    jwks_uri: secureUrl.optional(),
    /** Ask the user to approve this client like any other; off by default since the operator vouches for it. */
    require_consent: z.boolean().default(false),
  })
  .transform((client, ctx) => {
    const hasKeys = client.jwks !== undefined || client.jwks_uri !== undefined;
    const method = client.token_endpoint_auth_method ?? (client.client_secret ? 'client_secret_basic' : hasKeys ? 'private_key_jwt' : 'none');
    let valid = true;
    const problem = (field: string, message: string) => {
      valid = false;
      ctx.addIssue({ code: 'custom', path: [field], message });
    };
    if (method === 'none' || method === 'private_key_jwt') {
      if (client.client_secret) problem('client_secret', `must not be set for ${method === 'none' ? 'a public client (token_endpoint_auth_method none)' : 'private_key_jwt'}`);
    } else if (!client.client_secret) problem('client_secret', `is required for ${method}`);
    if (method === 'private_key_jwt') {
      if (!hasKeys) problem('jwks_uri', 'is required for private_key_jwt (or give the keys inline as jwks)');
      if (client.jwks !== undefined && client.jwks_uri !== undefined) problem('jwks', 'must not be given together with jwks_uri');
    } else if (hasKeys) {
      problem(client.jwks_uri !== undefined ? 'jwks_uri' : 'jwks', 'is used only with token_endpoint_auth_method private_key_jwt');
    }
    if (client.grant_types.includes('authorization_code') && client.redirect_uris.length === 0) {
      problem('redirect_uris', 'needs at least one redirect URI for the authorization_code grant');
    }
    const confidentialOnly = CONFIDENTIAL_GRANT_TYPES.filter((grant) => client.grant_types.includes(grant));
    if (confidentialOnly.length > 0 && method === 'none') {
      problem('grant_types', `${confidentialOnly.join(' and ')} need${confidentialOnly.length === 1 ? 's' : ''} a confidential client: a client_secret, or private_key_jwt with jwks or jwks_uri`);
    }
    return valid ? { ...client, token_endpoint_auth_method: method } : z.NEVER;
  });

export type StaticClient = z.output<typeof staticClientSchema>;
