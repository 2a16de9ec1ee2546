import * as z from 'zod';
import { clientNameSchema } from './client-name.js';

/**
 * Clients the operator registers in configuration, for deployments that turn
 * open registration off or want fixed credentials. Redirect URIs follow the
 * same rules as dynamic registration (checked where the schemes are known).
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
    redirect_uris: z.array(z.string().min(1)).min(1),
    token_endpoint_auth_method: z.enum(['none', 'client_secret_basic', 'client_secret_post']).optional(),
    grant_types: z.array(z.enum(['authorization_code', 'refresh_token'])).min(1).default(['authorization_code', 'refresh_token']),
    /** Ask the user to approve this client like any other; off by default since the operator vouches for it. */
    require_consent: z.boolean().default(false),
  })
  .transform((client, ctx) => {
    const method = client.token_endpoint_auth_method ?? (client.client_secret ? 'client_secret_basic' : 'none');
    if (method !== 'none' && !client.client_secret) {
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: `is required for ${method}` });
      return z.NEVER;
    }
    if (method === 'none' && client.client_secret) {
      ctx.addIssue({ code: 'custom', path: ['client_secret'], message: 'must not be set for a public client (token_endpoint_auth_method none)' });
      return z.NEVER;
    }
    return { ...client, token_endpoint_auth_method: method };
  });

export type StaticClient = z.output<typeof staticClientSchema>;
