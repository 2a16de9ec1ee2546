import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseRelay, type BodySink } from '../../src/proxy/response-relay.js';

/** 4 MB: more than one socket read, so the downstream must be paused and resumed along the way. */
const LARGE = Buffer.alloc(4 * 1024 * 1024, 'x');

let server: Server;
let pool: Pool;
/** The downstream's connection each request came on, in order. */
const servedOn: Socket[] = [];
/** Called when `/small` has been sent, and when `/never` has arrived. */
const finished: Array<() => void> = [];
const arrived: Array<() => void> = [];

function downstream(request: IncomingMessage, response: ServerResponse): void {
  servedOn.push(request.socket);
  request.resume();
  switch (request.url) {
    case '/large':
      response.writeHead(200, { 'content-length': String(LARGE.length) }).end(LARGE);
      return;
    case '/small':
      response.once('finish', () => finished.shift()?.());
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    case '/cut':
      response.writeHead(200, { 'content-length': '100' });
      response.write('only part of it', () => response.socket?.destroy());
      return;
    case '/unauthorized':
      response.writeHead(401, { 'content-length': '5' }).end('nope!');
      return;
    case '/never':
      arrived.shift()?.();
      return;
  }
}

beforeAll(async () => {
  server = createServer(downstream);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
});

afterAll(async () => {
  await pool.destroy();
  server.closeAllConnections();
  server.close();
});

function dispatch(path: string): ResponseRelay {
  const relay = new ResponseRelay();
  pool.dispatch({ path, method: 'GET', headersTimeout: 60_000, bodyTimeout: 0 }, relay);
  return relay;
}

/** A sink that collects what it is given, reporting itself full after every write until it has emitted 'drain'. */
function slowSink() {
  const chunks: Uint8Array[] = [];
  let full = false;
  let writesWhileFull = 0;
  const drainListeners: Array<() => void> = [];
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  const sink: BodySink = {
    write(chunk) {
      if (full) writesWhileFull++;
      chunks.push(chunk);
      full = true;
      setImmediate(() => {
        full = false;
        for (const listener of drainListeners.splice(0)) listener();
      });
      return false;
    },
    end: () => ended(),
    once(_event, listener) {
      drainListeners.push(listener);
    },
  };
  return { sink, chunks, done, writesWhileFull: () => writesWhileFull };
}

describe('relaying an undici response into a sink', () => {
  it('pauses the downstream while the sink is full, and delivers every byte once it drains', async () => {
    const relay = dispatch('/large');
    expect((await relay.head).statusCode).toBe(200);
    const { sink, chunks, done, writesWhileFull } = slowSink();
    relay.relayTo(sink, (error) => {
      throw error;
    });
    await done;
    expect(Buffer.concat(chunks).equals(LARGE)).toBe(true);
    expect(chunks.length).toBeGreaterThan(1);
    expect(writesWhileFull()).toBe(0);
  });

  it('holds what arrives before the sink, and writes it, then the end, when the sink comes', async () => {
    const sent = new Promise<void>((resolve) => finished.push(resolve));
    const relay = dispatch('/small');
    const head = await relay.head;
    expect(head.headers['content-type']).toBe('application/json');
    await sent;
    // The whole body is in by now (or on its way): what came is held, and the rest still relayed.
    const written: string[] = [];
    const ended = new Promise<void>((resolve) => {
      relay.relayTo({ write: (chunk) => written.push(Buffer.from(chunk).toString()) > 0, end: resolve, once: () => undefined }, (error) => {
        throw error;
      });
    });
    await ended;
    expect(written.join('')).toBe('{"ok":true}');
  });

  describe('what comes before the sink', () => {
    /** A relay past a 200 head, with undici's side of the contract recorded: what it asks of the request's controller. */
    const startedRelay = () => {
      const calls: string[] = [];
      const controller = {
        aborted: false,
        paused: false,
        reason: null,
        abort: () => calls.push('abort'),
        pause: () => calls.push('pause'),
        resume: () => calls.push('resume'),
      };
      const relay = new ResponseRelay();
      relay.onRequestStart(controller);
      relay.onResponseStart(controller, 200, {});
      return { relay, calls, controller };
    };
    const collectingSink = (written: string[]) => ({ write: (chunk: Uint8Array) => written.push(Buffer.from(chunk).toString()) > 0, end: () => undefined, once: () => undefined });
    const rethrow = (error: Error) => {
      throw error;
    };

    it('is held without pausing the downstream while it is a read’s worth or less', () => {
      const { relay, calls, controller } = startedRelay();
      relay.onResponseData(controller, Buffer.from('first'));
      expect(relay.bodyArrived).toBe(true);
      const written: string[] = [];
      relay.relayTo(collectingSink(written), rethrow);
      expect(written).toEqual(['first']);
      expect(calls).toEqual([]);
    });

    it('pauses the downstream once it passes a read’s worth, once, and the sink’s coming resumes it', () => {
      const { relay, calls, controller } = startedRelay();
      relay.onResponseData(controller, Buffer.from('first'));
      relay.onResponseData(controller, Buffer.alloc(64 * 1024, 'a'));
      expect(calls).toEqual(['pause']);
      relay.onResponseData(controller, Buffer.from('last'));
      expect(calls).toEqual(['pause']);
      const written: string[] = [];
      relay.relayTo(collectingSink(written), rethrow);
      expect(written.join('')).toBe(`first${'a'.repeat(64 * 1024)}last`);
      expect(calls).toEqual(['pause', 'resume']);
    });

    it('fills a sink given late, then waits for its drain: the next chunk is held, the downstream paused from undici’s callback, not between them', () => {
      const { relay, calls, controller } = startedRelay();
      relay.onResponseData(controller, Buffer.from('first'));
      const written: string[] = [];
      let drain: (() => void) | undefined;
      const fullAfterFirst: BodySink = {
        write: (chunk) => written.push(Buffer.from(chunk).toString()) > 1,
        end: () => written.push('<end>'),
        once: (_event, listener) => (drain = listener),
      };
      relay.relayTo(fullAfterFirst, rethrow);
      expect(written).toEqual(['first']);
      expect(calls).toEqual([]);
      relay.onResponseData(controller, Buffer.from('second'));
      expect(written).toEqual(['first']);
      expect(calls).toEqual(['pause']);
      drain!();
      expect(written).toEqual(['first', 'second']);
      expect(calls).toEqual(['pause', 'resume']);
      relay.onResponseEnd();
      expect(written).toEqual(['first', 'second', '<end>']);
    });

    it('is nothing yet when only the head came', () => {
      const { relay } = startedRelay();
      expect(relay.bodyArrived).toBe(false);
      relay.onResponseEnd();
      expect(relay.bodyArrived).toBe(true);
    });
  });

  it('hands a failure after the head to the sink’s error callback, even one that came before the sink', async () => {
    const relay = dispatch('/cut');
    await relay.head;
    const failed = new Promise<Error>((resolve) => relay.relayTo({ write: () => true, end: () => resolve(new Error('ended')), once: () => undefined }, resolve));
    const error = await failed;
    expect(error.message).not.toBe('ended');
  });

  it.each([
    ['waiting for its answer', true],
    ['not yet sent', false],
  ])('rejects the head with the reason when aborted %s, and the pool serves the next request', async (_when, sentFirst) => {
    const relay = new ResponseRelay();
    const reason = new Error('the client left');
    if (sentFirst) {
      const atDownstream = new Promise<void>((resolve) => arrived.push(resolve));
      pool.dispatch({ path: '/never', method: 'GET', headersTimeout: 60_000, bodyTimeout: 0 }, relay);
      await atDownstream;
      relay.abort(reason);
    } else {
      relay.abort(reason);
      pool.dispatch({ path: '/never', method: 'GET', headersTimeout: 60_000, bodyTimeout: 0 }, relay);
    }
    await expect(relay.head).rejects.toBe(reason);
    // Control: the same pool still relays a response.
    const next = dispatch('/unauthorized');
    expect((await next.head).statusCode).toBe(401);
    await next.drop();
  });

  it('drops an unwanted body and keeps the connection for the next request', async () => {
    const relay = dispatch('/unauthorized');
    expect((await relay.head).statusCode).toBe(401);
    await relay.drop();
    const next = dispatch('/unauthorized');
    expect((await next.head).statusCode).toBe(401);
    await next.drop();
    const [first, second] = servedOn.slice(-2);
    expect(second).toBe(first);
  });

  it('closes the connection of a body it lets go of unread', async () => {
    const relay = dispatch('/large');
    await relay.head;
    const socket = servedOn.at(-1)!;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    relay.discard();
    await closed;
    // Control: the next request is served, on a new connection.
    const next = dispatch('/unauthorized');
    expect((await next.head).statusCode).toBe(401);
    await next.drop();
    expect(servedOn.at(-1)).not.toBe(socket);
  });
});
