'use strict';
/**
 * What the bundled command line takes from undici: its pooled HTTP/1 clients (Pool, Agent).
 * scripts/bundle-cli.mjs resolves `undici` here, so the bundle leaves out the rest of the
 * package (fetch, WebSocket, mocks, caches, interceptors: about 500 KB that every start
 * would parse and never use). As undici's own index.js does, the request API is put on
 * Dispatcher.prototype, so pool.request() and agent.request() exist.
 *
 * The clients are loaded on first use (the first proxied request or outbound call), not
 * at start: undici's modules, and node:http2 and node:tls behind them, take a share of
 * start-up that the proxy does not need before it listens.
 */
let loaded;

function pools() {
  if (loaded === undefined) {
    const Dispatcher = require('undici/lib/dispatcher/dispatcher.js');
    Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));
    loaded = { Pool: require('undici/lib/dispatcher/pool.js'), Agent: require('undici/lib/dispatcher/agent.js') };
  }
  return loaded;
}

module.exports = {
  get Pool() {
    return pools().Pool;
  },
  get Agent() {
    return pools().Agent;
  },
};
