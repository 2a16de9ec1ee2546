import type { RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Route } from '../config/schema.js';
import type { ProxyApp } from '../http/app.js';
import { nodeExchange } from '../pipeline/node-exchange.js';
import type { UndiciForwarder } from '../proxy/undici-forwarder.js';

/**
 * Node's request listener: a request for a route goes to the route pipeline on Node's own
 * request and response, before any framework code runs; every other request goes to the
 * endpoints' Hono app through @hono/node-server.
 */
export function nodeListener(app: ProxyApp, forwarderFor: (route: Route) => UndiciForwarder): RequestListener {
  const endpoints = getRequestListener(app.endpoints.fetch);
  return (incoming, outgoing) => {
    const match = app.routeOf(incoming.url ?? '/');
    if (match === undefined) {
      void endpoints(incoming, outgoing);
      return;
    }
    const exchange = nodeExchange(incoming, outgoing, forwarderFor(match.pipeline.endpoint.route));
    // The pipeline answers every failure it can; one after the head was sent can only cut the response.
    match.pipeline.handle(exchange, match.path, match.metricsRoute).catch(() => {
      if (!outgoing.destroyed) outgoing.destroy();
    });
  };
}
