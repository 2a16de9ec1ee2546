import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jsonAnswer } from '../../src/domain/answer.js';
import type { Exchange } from '../../src/pipeline/exchange.js';
import { nodeExchange } from '../../src/pipeline/node-exchange.js';
import { webExchange } from '../../src/pipeline/web-exchange.js';
import { FetchForwarder } from '../../src/proxy/fetch-forwarder.js';
import { UndiciForwarder } from '../../src/proxy/undici-forwarder.js';
import { silentLogger } from '../../src/observability/logger.js';

/** What an exchange tells the pipeline about the request it wraps, as JSON. */
async function describeExchange<R>(exchange: Exchange<R>): Promise<R> {
  const read = await exchange.readBody(64);
  const seen = {
    method: exchange.method,
    target: exchange.target,
    lookups: ['x-client-id', 'X-Client-Id', 'x-repeated', 'absent'].map((name) => exchange.headers.get(name)),
    outbound: exchange.outboundHeaders({ credential: { authorization: 'Bearer downstream' } }),
    body: read.ok ? new TextDecoder().decode(read.body) : read.reason,
  };
  return exchange.reply(jsonAnswer(200, seen), { 'x-request-id': 'exchange-test' });
}

const servers: Server[] = [];
const forwarders = { undici: new UndiciForwarder({ headersTimeoutMs: 60_000, logger: silentLogger }), fetch: new FetchForwarder({ headersTimeoutMs: 60_000, logger: silentLogger }) };
const origins = new Map<string, string>();

async function serve(name: string, listener: RequestListener): Promise<void> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  origins.set(name, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** Whether the Node response had ended when `afterResponse` ran its task, by the downstream forwarded to. */
const forwardedEnds: Record<string, Array<{ afterResponse: boolean }>> = { downstream: [], stream: [] };
/** Lets the event-stream downstream write its event and end, once per request. */
const streamGates: Array<() => void> = [];

beforeAll(async () => {
  await serve('node', (incoming, outgoing) => void describeExchange(nodeExchange(incoming, outgoing, forwarders.undici)));
  await serve('downstream', (incoming, outgoing) => {
    incoming.resume();
    outgoing.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}');
  });
  // An SDK server's answer as an event stream: the head first, the event once the tool is done.
  await serve('stream', (incoming, outgoing) => {
    incoming.resume();
    outgoing.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
    streamGates.push(() => outgoing.end('event: message\ndata: {}\n\n'));
  });
  // Forwards to the downstream its path names.
  await serve('node-forward', (incoming, outgoing) => {
    const downstream = incoming.url === '/stream' ? 'stream' : 'downstream';
    const exchange = nodeExchange(incoming, outgoing, forwarders.undici);
    void exchange.forward({ method: 'POST', target: new URL(`${origins.get(downstream)!}/mcp`), headers: {}, responseHeaders: {}, body: new Uint8Array() }).then(() => {
      exchange.afterResponse(() => forwardedEnds[downstream]!.push({ afterResponse: outgoing.writableEnded }));
    });
  });
  await serve('web', getRequestListener((request) => describeExchange(webExchange(request, undefined, forwarders.fetch))) as RequestListener);
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await Promise.all([forwarders.undici.close(), forwarders.fetch.close()]);
});

/** A request with a repeated header in two spellings, written as a client may send it. */
async function send(origin: string, body: string): Promise<{ status: number; headers: string; json: Record<string, unknown> }> {
  const { port } = new URL(origin);
  const socket = connect(Number(port), '127.0.0.1');
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => (text += chunk));
  const closed = once(socket, 'close');
  socket.end(
    `POST /mcp?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Client-Id: agent-7\r\nX-Repeated: one\r\nx-repeated: two\r\n` +
      `Authorization: Bearer client-token\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  await closed;
  const [head, ...rest] = text.split('\r\n\r\n');
  const payload = rest.join('\r\n\r\n');
  // The web adapter's server may frame the body in chunks.
  const json = /transfer-encoding: chunked/i.test(head!) ? payload.split('\r\n').filter((_line, i) => i % 2 === 1).join('') : payload;
  return { status: Number(head!.split(' ')[1]), headers: head!.toLowerCase(), json: JSON.parse(json) as Record<string, unknown> };
}

describe('the two runtime adapters', () => {
  it('show the pipeline the same request: header lookups in any case with repeats joined, the downstream headers, the target and the body', async () => {
    const [node, web] = await Promise.all([send(origins.get('node')!, '{"jsonrpc":"2.0"}'), send(origins.get('web')!, '{"jsonrpc":"2.0"}')]);
    expect(node.json['lookups']).toEqual(['agent-7', 'agent-7', 'one, two', null]);
    expect(node.json['target']).toBe('/mcp?x=1');
    expect(node.json['body']).toBe('{"jsonrpc":"2.0"}');
    const outbound = node.json['outbound'] as Record<string, string>;
    expect(outbound['authorization']).toBe('Bearer downstream');
    expect(outbound['x-repeated']).toBe('one, two');
    expect(web.json).toEqual(node.json);
    for (const answer of [node, web]) {
      expect(answer.status).toBe(200);
      expect(answer.headers).toContain('\r\nx-request-id: exchange-test');
      expect(answer.headers).toContain('\r\ncache-control: no-store');
    }
  });

  it('refuse a body over the bound the same way, and still answer on the connection', async () => {
    const large = 'x'.repeat(65);
    for (const name of ['node', 'web']) {
      const answer = await send(origins.get(name)!, large);
      expect(answer.json['body'], name).toBe('too_large');
    }
  });

  it('on Node, run what comes after the response once a forwarded body has been written, not before', async () => {
    // A client that keeps its side open (`send` half-closes, which a forward would see as the client leaving).
    const answer = await fetch(`${origins.get('node-forward')!}/mcp`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({});
    // The body came with the head: it is written before the record runs, never held back by it.
    expect(forwardedEnds['downstream']).toEqual([{ afterResponse: true }]);
  });

  it('on Node, wait for a body that comes after the head (an event stream) before running what comes after the response', async () => {
    const answer = await fetch(`${origins.get('node-forward')!}/stream`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/event-stream');
    // The head is here and the event is not: the task waits for it.
    streamGates.shift()!();
    expect(await answer.text()).toBe('event: message\ndata: {}\n\n');
    expect(forwardedEnds['stream']).toEqual([{ afterResponse: true }]);
  });

  it('on Node, run what comes after the response of a stream that stays open while it is open', async () => {
    const answer = await fetch(`${origins.get('node-forward')!}/stream`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(200);
    await vi.waitFor(() => expect(forwardedEnds['stream']).toHaveLength(2), { timeout: 30_000, interval: 50 });
    // Run while the stream was still open, which it still is.
    expect(forwardedEnds['stream']![1]).toEqual({ afterResponse: false });
    streamGates.shift()!();
    expect(await answer.text()).toBe('event: message\ndata: {}\n\n');
    expect(forwardedEnds['stream']).toHaveLength(2);
  });
});
