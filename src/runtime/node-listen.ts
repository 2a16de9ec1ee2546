import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';

type FetchHandler = (request: Request) => Response | Promise<Response>;

/** What `listen` takes from the fetch adapter: @hono/node-server's request listener for a fetch handler. */
export type LoadAdapter = () => Promise<{
  getRequestListener(fetch: FetchHandler, options: { hostname: string }): (incoming: IncomingMessage, outgoing: ServerResponse) => unknown;
}>;

async function honoNodeServer(): ReturnType<LoadAdapter> {
  // RESPONSE_ALREADY_SENT (what the Node forwarder answers once it wrote the response itself) must be
  // one of Node's own Responses: created before getRequestListener replaces the global Response.
  await import('@hono/node-server/utils/response');
  return import('@hono/node-server');
}

/**
 * A node:http server for a fetch handler, once it listens. The adapter is loaded only once the
 * port is bound: loading it reads Node's `Request` and `Response` globals, and the first read makes
 * Node compile its whole fetch implementation, a large share of start-up. Requests accepted before
 * the adapter is ready wait for it, in order; after that the adapter's listener serves them directly.
 */
export function listen(fetch: FetchHandler, hostname: string, port: number, loadAdapter: LoadAdapter = honoNodeServer): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const server = createServer();
    let adapter: Promise<RequestListener> | undefined;
    const load = () =>
      (adapter ??= loadAdapter().then(({ getRequestListener }) => {
        const listener: RequestListener = getRequestListener(fetch, { hostname });
        server.off('request', early).on('request', listener);
        return listener;
      }));
    const early: RequestListener = (incoming, outgoing) => void load().then((listener) => listener(incoming, outgoing));
    server.on('request', early);
    server.once('error', reject);
    server.listen(port, hostname, () => {
      resolve(server);
      void load();
    });
  });
}
