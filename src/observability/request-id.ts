import { randomToken } from '../crypto/encoding.js';

const REQUEST_ID = /^[\w.-]{1,64}$/;

/**
 * Ids the proxy makes itself: a random prefix per process and a counter. Unique across
 * instances and restarts without drawing random bytes for every request (that draw was a
 * measurable share of a proxied call); an id names a request, it guards nothing.
 */
export function requestIdSource(prefix: string = randomToken(6)): () => string {
  let next = 0;
  return () => `${prefix}-${(next++).toString(36)}`;
}

/** A request's id: the caller's X-Request-Id when well-formed, else one from `newRequestId`. */
export function requestIdFor(incoming: string | null | undefined, newRequestId: () => string): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : newRequestId();
}
