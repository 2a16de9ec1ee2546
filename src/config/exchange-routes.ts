import { PRESETS, UPSTREAM_PROVIDERS, type UpstreamProvider } from '../upstream/presets.js';

/** A problem of one setting of a route. */
export interface RouteProblem {
  readonly setting: string;
  readonly message: string;
}

const isProvider = (value: unknown): value is UpstreamProvider => (UPSTREAM_PROVIDERS as readonly unknown[]).includes(value);

/**
 * What a token-exchange or entra-obo route needs that only the whole configuration shows: a
 * client secret to authenticate at the token endpoint with (its own client's, both id and secret,
 * or else the upstream client's), and for an id_token subject, a provider that issues ID tokens.
 * `upstream` is the settings of the route's identity provider. Both are read defensively: this runs
 * even when other settings failed, so that every problem is reported at once.
 */
export function exchangeRouteProblems(route: unknown, upstream: unknown): RouteProblem[] {
  const { auth, clientId, clientSecret, subjectToken } = (route ?? {}) as Record<string, unknown>;
  if (auth !== 'token-exchange' && auth !== 'entra-obo') return [];
  const problems: RouteProblem[] = [];
  const pair = "the route's own client needs its id and secret both (neither: the upstream client's)";
  if (clientId !== undefined && clientSecret === undefined) problems.push({ setting: 'clientSecret', message: `is required: ${pair}` });
  if (clientSecret !== undefined && clientId === undefined) problems.push({ setting: 'clientId', message: `is required: ${pair}` });
  const { provider, clientSecret: upstreamSecret } = (upstream ?? {}) as Record<string, unknown>;
  if (clientId === undefined && clientSecret === undefined && upstream !== undefined && upstreamSecret === undefined) {
    problems.push({ setting: 'clientSecret', message: `is required for auth ${auth}: the upstream client has no secret to authenticate at the token endpoint with` });
  }
  if (subjectToken === 'id_token' && isProvider(provider) && PRESETS[provider].protocol !== 'oidc') {
    problems.push({ setting: 'subjectToken', message: `id_token needs an OpenID Connect provider; the ${provider} provider issues none` });
  }
  return problems;
}
