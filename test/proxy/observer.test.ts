import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchForwarder } from '../../src/proxy/fetch-forwarder.js';
import type { ForwardObserver, Forwarder } from '../../src/proxy/forwarder.js';
import { UndiciForwarder } from '../../src/proxy/undici-forwarder.js';
import type { Exchange } from '../../src/pipeline/exchange.js';
import { drain, readUntil, recordingLogger, refusingOrigin, serveApp, startDownstream, testProxy, type Downstream, type TestProxy } from './harness.js';


/** What the forwarders reported for the requests of one test. */
class Observed implements ForwardObserver {
  readonly errors: string[] = [];
  opened = 0;
  closed = 0;
  private markClosed!: () => void;
  /** Settles when the forwarder reports a stream closed. */
  readonly streamClosed = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });
  downstreamError(kind: string) {
    this.errors.push(kind);
  }
  streamOpened() {
    this.opened++;
    return () => {
      this.closed++;
      this.markClosed();
    };
  }
}

let downstream: Downstream;
let refused: string;
const logger = recordingLogger();
const observers = new Map<string, Observed>();
const origins = new Map<string, string>();
const cleanups: Array<() => Promise<void>> = [];

/** Forwards /x/<path>?obs=<id> to the downstream (or /refused/… nowhere), reporting to observer <id>. */
function observedApp(forwarder: Forwarder): TestProxy {
  return testProxy(forwarder, async <R>(exchange: Exchange<R>): Promise<R> => {
    const url = new URL(exchange.target, 'http://proxy.invalid');
    const where = url.pathname.split('/')[1] ?? '';
    const origin = where === 'refused' ? refused : downstream.origin;
    const target = new URL(`${url.pathname.slice(where.length + 1)}${url.search}`, origin);
    const observer = observers.get(url.searchParams.get('obs') ?? '');
    const sent = await exchange.forward({
      method: exchange.method,
      target,
      headers: exchange.outboundHeaders({ credential: {}, requestId: 'observed-1' }),
      responseHeaders: {},
      requestId: 'observed-1',
      ...(observer ? { observer } : {}),
    });
    return sent.result;
  });
}

beforeAll(async () => {
  downstream = await startDownstream();
  refused = await refusingOrigin();
  const undici = new UndiciForwarder({ headersTimeoutMs: 400, logger, closeGraceMs: 100 });
  const web = new FetchForwarder({ headersTimeoutMs: 400, logger });
  const servedUndici = await serveApp(observedApp(undici));
  const servedWeb = await serveApp(observedApp(web));
  origins.set('undici', servedUndici.origin);
  origins.set('fetch', servedWeb.origin);
  cleanups.push(servedUndici.close, servedWeb.close, () => undici.close(), () => web.close());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await downstream.close();
});

describe.each(['undici', 'fetch'])('what the %s forwarder reports', (kind) => {
  const observe = () => {
    const id = randomUUID();
    const observed = new Observed();
    observers.set(id, observed);
    return { id, observed };
  };
  const send = (path: string, init?: RequestInit) => fetch(`${origins.get(kind)}${path}`, init);

  it('an event stream is open until the downstream ends it', async () => {
    const { id, observed } = observe();
    const response = await send(`/x/sse?id=${id}&obs=${id}`);
    const reader = response.body!.getReader();
    await readUntil(reader, 'first');
    expect(observed.opened).toBe(1);
    expect(observed.closed).toBe(0);
    downstream.gate(id).release();
    expect(await drain(reader)).toContain('second');
    await observed.streamClosed;
    expect(observed.closed).toBe(1);
    expect(observed.errors).toEqual([]);
  });

  it('an event stream closes when the client leaves', async () => {
    const { id, observed } = observe();
    const client = new AbortController();
    const response = await send(`/x/sse?id=${id}&obs=${id}`, { signal: client.signal });
    await readUntil(response.body!.getReader(), 'first');
    expect(observed.opened).toBe(1);
    client.abort();
    await observed.streamClosed;
    expect(observed.closed).toBe(1);
    await downstream.gate(id).closed;
    // A client that leaves is not a downstream error.
    expect(observed.errors).toEqual([]);
  });

  it('an event stream cut by the downstream closes and counts as interrupted', async () => {
    const { id, observed } = observe();
    const response = await send(`/x/reset?id=${id}&obs=${id}`);
    const reader = response.body!.getReader();
    await readUntil(reader, 'partial');
    downstream.gate(id).release();
    await drain(reader).catch(() => undefined);
    await observed.streamClosed;
    expect(observed.closed).toBe(1);
    expect(observed.opened).toBe(1);
    expect(observed.errors).toEqual(['interrupted']);
  });

  it('JSON responses are not streams', async () => {
    const { id, observed } = observe();
    const response = await send(`/x/echo?obs=${id}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
    await response.text();
    expect(observed.opened).toBe(0);
    expect(observed.errors).toEqual([]);
  });

  it('classifies failures before the response: refused connection, timeout', async () => {
    const { id, observed } = observe();
    expect((await send(`/refused/mcp?obs=${id}`)).status).toBe(502);
    expect((await send(`/x/hang?id=${id}&obs=${id}`)).status).toBe(504);
    expect(observed.errors).toEqual(['connect_refused', 'timeout']);
    const failure = logger.entries.find((entry) => entry.message === 'downstream request failed');
    expect(failure?.fields.request_id).toBe('observed-1');
  });
});
