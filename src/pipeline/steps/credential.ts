import { jsonAnswer } from '../../domain/answer.js';
import type { AccessPayload } from '../../domain/capsule-schemas.js';
import type { HeaderSource } from '../../domain/header-source.js';
import type { GrantedCredential } from '../outbound.js';
import { Refusal, type RequestState, type RouteContext } from '../route-context.js';

/** What the downstream receives, from the route's credential mode; its refusal (401 or 503) as the client's answer. */
export async function obtainCredential(
  route: RouteContext,
  headers: HeaderSource,
  token: AccessPayload | undefined,
  state: RequestState,
): Promise<GrantedCredential | Refusal> {
  const outcome = await route.credential.credential({ token, headers });
  if (outcome.ok) return outcome;
  route.deps.logger.warn('downstream credential unavailable', { route: route.endpoint.path, error: outcome.error, detail: outcome.detail, request_id: state.requestId });
  // A 401 without a challenge of the mode's own means the sign-in no longer yields a credential: the route's invalid_token challenge sends the client to sign in again.
  const wwwAuthenticate = outcome.challenge ?? (outcome.status === 401 ? route.challenges.invalid : undefined);
  const challenge: Record<string, string> = wwwAuthenticate ? { 'www-authenticate': wwwAuthenticate } : {};
  return new Refusal(jsonAnswer(outcome.status, { error: outcome.error, error_description: outcome.description }, challenge), outcome.error);
}
