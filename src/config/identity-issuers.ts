import * as z from 'zod';
import { secureUrl } from './primitives.js';

/**
 * An enterprise identity provider whose identity assertions (ID-JAG) the proxy exchanges for
 * access tokens. `issuer` is compared with the assertion's `iss` exactly; its keys come from
 * `jwksUri`, or from the issuer's OpenID Connect discovery document when that is absent.
 */
const trustedIssuerSchema = z.strictObject({
  issuer: secureUrl,
  jwksUri: secureUrl.optional(),
});

export const trustedIssuersSchema = z.array(trustedIssuerSchema).superRefine((issuers, ctx) => {
  const seen = new Map<string, number>();
  issuers.forEach(({ issuer }, index) => {
    const other = seen.get(issuer);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: [index, 'issuer'], message: `${issuer} is already listed as trustedIdentityIssuers[${other}]` });
    seen.set(issuer, index);
  });
});

export type TrustedIssuer = z.output<typeof trustedIssuerSchema>;
