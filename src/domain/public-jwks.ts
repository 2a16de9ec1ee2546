import * as z from 'zod';

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A public signing key; private or symmetric key material makes the whole key set invalid. */
export const publicJwkSchema = z
  .looseObject({
    kty: z.enum(['RSA', 'EC', 'OKP']),
    kid: z.string().max(200).optional(),
    use: z.string().optional(),
    alg: z.string().optional(),
  })
  .refine((jwk) => PRIVATE_JWK_MEMBERS.every((member) => !(member in jwk)), 'must contain public keys only');

/** A key set someone publishes to let the proxy verify their signatures (a client's, an identity provider's). */
export const publicJwksSchema = z.object({ keys: z.array(publicJwkSchema).min(1).max(20) });
export type PublicJwks = z.infer<typeof publicJwksSchema>;

const text = z.string().min(1);
const privateMember = z.never({ error: 'is private key material: configure the public key only' }).optional();

/**
 * A key set as an operator writes it in configuration: the members of a public key (RFC 7517 §4,
 * RFC 7518 §6) and no others, so a misspelt member is named, and a private key pasted by mistake
 * is refused member by member.
 */
export const configuredJwksSchema = z.strictObject({
  keys: z
    .array(
      z.strictObject({
        kty: z.enum(['RSA', 'EC', 'OKP']),
        kid: z.string().max(200).optional(),
        use: text.optional(),
        alg: text.optional(),
        key_ops: z.array(text).optional(),
        crv: text.optional(),
        x: text.optional(),
        y: text.optional(),
        n: text.optional(),
        e: text.optional(),
        x5c: z.array(text).optional(),
        x5t: text.optional(),
        'x5t#S256': text.optional(),
        ...Object.fromEntries(PRIVATE_JWK_MEMBERS.map((member) => [member, privateMember])),
      }),
    )
    .min(1)
    .max(20),
}) satisfies z.ZodType<PublicJwks>;
