import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';

type FetchHandler = (request: Request) => Response | Promise<Response>;

/** What `listen` takes from the fetch adapter: @hono/node-server's request listener for a fetch handler. */
export type LoadAdapter = () => Promise<{
  getRequestListener(fetch: FetchHandler, options: { hostname: string }): (incoming: IncomingMessage, outgoing: ServerResponse) => unknown;
}>;

/** Takes a request before the fetch adapter sees it, answering it on Node's own objects; false leaves it to the adapter. */
export type Claim = (incoming: IncomingMessage, outgoing: ServerResponse) => boolean;

export interface ListenOptions {
  readonly loadAdapter?: LoadAdapter;
  readonly claim?: Claim;
}

const honoNodeServer: LoadAdapter = () => import('@hono/node-server');

/**
 * A node:http server for a fetch handler, once it listens. The requests `claim` takes never reach
 * the adapter; the adapter is loaded only once the port is bound: loading it reads Node's `Request`
 * and `Response` globals, and the first read makes Node compile its whole fetch implementation, a
 * large share of start-up. Requests for the adapter accepted before it is ready wait for it, in
 * order; after that its listener serves them directly.
 */
export function listen(fetch: FetchHandler, hostname: string, port: number, options: ListenOptions = {}): Promise<Server> {
  const { loadAdapter = honoNodeServer, claim } = options;
  const claiming = (listener: RequestListener): RequestListener =>
    claim === undefined
      ? listener
      : (incoming, outgoing) => {
          if (!claim(incoming, outgoing)) listener(incoming, outgoing);
        };
  return new Promise<Server>((resolve, reject) => {
    const server = createServer();
    let adapter: Promise<RequestListener> | undefined;
    const load = () =>
      (adapter ??= loadAdapter().then(({ getRequestListener }) => {
        const listener: RequestListener = getRequestListener(fetch, { hostname });
        server.off('request', early).on('request', claiming(listener));
        return listener;
      }));
    const early: RequestListener = claiming((incoming, outgoing) => void load().then((listener) => listener(incoming, outgoing)));
    server.on('request', early);
    server.once('error', reject);
    server.listen(port, hostname, () => {
      resolve(server);
      void load();
    });
  });
}
