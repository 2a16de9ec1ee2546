import { jsonAnswer } from '../../domain/answer.js';
import type { AccessPayload } from '../../domain/capsule-schemas.js';
import type { HeaderSource } from '../../domain/header-source.js';
import { carriesUpstreamToken, type CredentialOutcome, type DownstreamCredential } from '../../downstream/credential.js';
import type { GrantedCredential } from '../outbound.js';
import { Refusal, type RequestState, type RouteContext } from '../route-context.js';
import { unauthorized } from './authentication.js';

/** What the downstream receives, from the route's credential mode; its refusal (401 or 503) as the client's answer. */
export async function obtainCredential(
  route: RouteContext,
  headers: HeaderSource,
  token: AccessPayload | undefined,
  state: RequestState,
): Promise<GrantedCredential | Refusal> {
  const outcome = await outcomeOf(route.credential, token, headers);
  if (outcome === undefined) return unauthorized(route, 'invalid', 'the token carries no upstream token, which this route passes on', state);
  if (outcome.ok) return outcome;
  route.deps.logger.warn('downstream credential unavailable', { route: route.endpoint.path, error: outcome.error, detail: outcome.detail, request_id: state.requestId });
  // A 401 without a challenge of the mode's own means the sign-in no longer yields a credential: the route's invalid_token challenge sends the client to sign in again.
  const wwwAuthenticate = outcome.challenge ?? (outcome.status === 401 ? route.challenges.invalid : undefined);
  const challenge: Record<string, string> = wwwAuthenticate ? { 'www-authenticate': wwwAuthenticate } : {};
  return new Refusal(jsonAnswer(outcome.status, { error: outcome.error, error_description: outcome.description }, challenge), outcome.error);
}

/**
 * The mode's outcome, or undefined when the mode needs the user's upstream token and this token
 * carries none: one issued without an upstream session (client credentials, an identity assertion)
 * while the route's mode needed none, before an operator changed the mode.
 */
function outcomeOf(credential: DownstreamCredential, token: AccessPayload | undefined, headers: HeaderSource): Promise<CredentialOutcome> | undefined {
  if (!credential.needsUpstreamToken) return credential.credential({ token, headers });
  return token !== undefined && carriesUpstreamToken(token) ? credential.credential({ token, headers }) : undefined;
}
