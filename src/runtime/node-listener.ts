import type { Route } from '../config/schema.js';
import type { ProxyApp } from '../http/app.js';
import { nodeExchange } from '../pipeline/node-exchange.js';
import type { UndiciForwarder } from '../proxy/undici-forwarder.js';
import type { Claim } from './node-listen.js';

/**
 * Node's first look at a request: one for a route goes to the route pipeline on Node's own
 * request and response, before any framework code runs; every other request is left to the
 * endpoints' Hono app.
 */
export function claimRoutes(app: ProxyApp, forwarderFor: (route: Route) => UndiciForwarder): Claim {
  return (incoming, outgoing) => {
    const match = app.routeOf(incoming.url ?? '/');
    if (match === undefined) return false;
    const exchange = nodeExchange(incoming, outgoing, forwarderFor(match.pipeline.endpoint.route));
    // The pipeline answers every failure it can; one after the head was sent can only cut the response.
    match.pipeline.handle(exchange, match.path, match.metricsRoute).catch(() => {
      if (!outgoing.destroyed) outgoing.destroy();
    });
    return true;
  };
}
