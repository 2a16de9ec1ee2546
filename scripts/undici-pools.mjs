/**
 * What the bundled command line takes from undici: its pooled HTTP/1 clients (Pool, Agent).
 * scripts/bundle-cli.mjs resolves `undici` here, so the bundle leaves out the rest of the
 * package (fetch, WebSocket, mocks, caches, interceptors: about 500 KB that would be parsed
 * and never used). As undici's own index.js does, the request API is put on
 * Dispatcher.prototype, so pool.request() and agent.request() exist.
 *
 * The proxy imports undici dynamically on first use (src/net/undici.ts), so this module and the
 * files it imports are a bundle of their own (dist/lazy/undici-pools.cjs) that a start does not read.
 */
import api from 'undici/lib/api/index.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import Pool from 'undici/lib/dispatcher/pool.js';

Object.assign(Dispatcher.prototype, api);

export { Agent, Pool };
