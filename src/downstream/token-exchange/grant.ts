import { JWT_BEARER_GRANT_TYPE } from '../../domain/grant-types.js';

/** RFC 8693 §2.1. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** RFC 8693 §3: the type URI of each upstream token that can be the subject. */
export const SUBJECT_TOKEN_TYPES = {
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
} as const;

export type SubjectTokenKind = keyof typeof SUBJECT_TOKEN_TYPES;

/** What a route asks for in exchange for the user's upstream token. */
export type ExchangeGrant =
  | {
      readonly kind: 'token-exchange';
      readonly subjectToken: SubjectTokenKind;
      readonly audience?: string | undefined;
      readonly resource?: string | undefined;
      /** Sorted, without duplicates. */
      readonly scopes: readonly string[];
    }
  | {
      readonly kind: 'entra-obo';
      /** Sorted, without duplicates; `api://<app>/.default` and the like. */
      readonly scopes: readonly string[];
    };

/** Which upstream token the grant sends: Entra's on-behalf-of takes only the access token. */
export function subjectTokenKind(grant: ExchangeGrant): SubjectTokenKind {
  return grant.kind === 'token-exchange' ? grant.subjectToken : 'access_token';
}

/**
 * The grant's form parameters for one subject token, client authentication aside.
 * token-exchange: RFC 8693 §2.1, asking for an access token. entra-obo: the jwt-bearer grant (RFC 7523 §2.1)
 * with the token as `assertion` and `requested_token_use=on_behalf_of`, as Entra defines it.
 */
export function grantParameters(grant: ExchangeGrant, subjectToken: string): URLSearchParams {
  const scope = grant.scopes.join(' ');
  if (grant.kind === 'entra-obo') {
    return new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: subjectToken, requested_token_use: 'on_behalf_of', scope });
  }
  const params = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: subjectToken,
    subject_token_type: SUBJECT_TOKEN_TYPES[grant.subjectToken],
    requested_token_type: SUBJECT_TOKEN_TYPES.access_token,
  });
  if (grant.audience !== undefined) params.set('audience', grant.audience);
  if (grant.resource !== undefined) params.set('resource', grant.resource);
  if (scope !== '') params.set('scope', scope);
  return params;
}
