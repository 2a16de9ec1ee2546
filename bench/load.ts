/**
 * The load generator, in its own process (pinned to the other core). Driven over IPC by
 * bench/run.ts: { id, op, args } in, { id, result } or { id, error } out.
 *   calls     N connections per target, one MCP session each (initialize once), then tools/call echo in a loop,
 *             in slices; two targets take turns
 *   batch     the same, for a fixed number of requests; waits for { id, op: 'go' } after its start and stop events
 *   sseOpen   open N GET event streams; resolves when every stream has had its first event
 *   sseMeasure  collect event latencies (monotonic clock stamped by the server) for a while
 *   sseClose  drop every stream
 */
import { request as httpRequest, Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import { cpuMs } from './cpu-time.js';

const PROTOCOL = '2025-06-18';

export interface CallTarget {
  url: string;
  headers: Record<string, string>;
  /** Processes whose CPU time is counted over the target's slices: the downstream, then the proxy if there is one. */
  pids: number[];
}

export interface CallsArgs {
  /** One target, or two that take turns. */
  targets: CallTarget[];
  connections: number;
  warmupMs: number;
  /** Counted time per target, in slices of `sliceMs`. */
  durationMs: number;
  sliceMs: number;
}

export interface CallsResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** CPU ms each of the target's `pids` spent over its counted time. */
  cpuMs: number[];
  firstError?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface BatchArgs {
  url: string;
  headers: Record<string, string>;
  connections: number;
  /** Requests before the counted ones (not counted), then exactly `requests` counted ones. */
  warmup: number;
  requests: number;
}

export interface BatchResult {
  requests: number;
  errors: number;
  ms: number;
  firstError?: string;
}

/** One MCP session per connection, as a real MCP client would have; `call` sends one tools/call and says whether it succeeded. */
async function sessionsOf(args: { url: string; headers: Record<string, string>; connections: number }) {
  const url = new URL(args.url);
  // Connections are busy throughout a measurement; they idle only while the orchestrator reads a counter or switches
  // callgrind on (seconds, under valgrind). Node servers close idle ones after 5 s, and a request sent on one just
  // closed fails: drop them well before, by this process's timers, which run late on a loaded machine.
  const pool = new Pool(url.origin, { connections: args.connections, pipelining: 1, keepAliveTimeout: 2_000, keepAliveMaxTimeout: 2_000 });
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...args.headers };
  const post = async (headers: Record<string, string>, body: unknown) => {
    const response = await pool.request({ path: url.pathname, method: 'POST', headers: { ...base, ...headers }, body: JSON.stringify(body) });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  };
  const sessions: string[] = [];
  for (let i = 0; i < args.connections; i++) {
    const init = await post({}, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
    const session = init.headers['mcp-session-id'];
    if (init.status !== 200 || typeof session !== 'string') throw new Error(`initialize answered ${init.status}: ${init.text.slice(0, 200)}`);
    await post({ 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL }, { jsonrpc: '2.0', method: 'notifications/initialized' });
    sessions.push(session);
  }
  let errors = 0;
  let firstError: string | undefined;
  let id = 1;
  const call = async (session: string): Promise<boolean> => {
    try {
      const response = await pool.request({
        path: url.pathname,
        method: 'POST',
        headers: { ...base, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL },
        body: `{"jsonrpc":"2.0","id":${id++},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello bench"}}}`,
      });
      const text = await response.body.text();
      if (response.statusCode === 200 && text.includes('hello bench')) return true;
      firstError ??= `${response.statusCode} ${text.slice(0, 200)}`;
    } catch (error) {
      firstError ??= String(error);
    }
    errors++;
    return false;
  };
  const close = async () => {
    await Promise.all(sessions.map((session) => pool.request({ path: url.pathname, method: 'DELETE', headers: { ...args.headers, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL } }).then((r) => r.body.dump(), () => {})));
    await pool.close();
  };
  return { sessions, call, close, errors: () => errors, firstError: () => firstError };
}

/** Requests of a slice sent before its counted time, so every connection is busy once counting starts. */
const SLICE_LEAD_MS = 100;

/**
 * tools/call in a loop on every connection, counted in slices. With two targets the slices take turns
 * in ABBA order (A B, then B A, ...), so each target's counted time is spread over the same stretch of
 * the run as the other's: on a shared VM the machine's speed drifts over seconds, and a window measured
 * before or after another took that drift into the comparison. Each slice starts from idle connections,
 * runs SLICE_LEAD_MS uncounted, counts for `sliceMs` (the CPU time of the target's processes is read at
 * both ends, here, so nothing but the target ran in between), then lets its last requests finish.
 */
async function calls(args: CallsArgs): Promise<CallsResult[]> {
  interface Tally {
    target: CallTarget;
    session: Awaited<ReturnType<typeof sessionsOf>>;
    latencies: number[];
    /** Counted time so far, and each pid's CPU time in it. */
    ms: number;
    cpu: number[];
  }
  const targets: Tally[] = [];
  for (const target of args.targets) targets.push({ target, session: await sessionsOf({ ...target, connections: args.connections }), latencies: [], ms: 0, cpu: target.pids.map(() => 0) });
  const slice = async (of: Tally, leadMs: number, countMs: number) => {
    let counting = false;
    let stop = false;
    const worker = async (name: string) => {
      while (!stop) {
        const started = performance.now();
        if ((await of.session.call(name)) && counting) of.latencies.push(performance.now() - started);
      }
    };
    const running = of.session.sessions.map(worker);
    await delay(leadMs);
    if (countMs > 0) {
      const cpuFrom = of.target.pids.map(cpuMs);
      counting = true;
      const from = performance.now();
      await delay(countMs);
      counting = false;
      of.ms += performance.now() - from;
      of.target.pids.forEach((pid, i) => (of.cpu[i]! += cpuMs(pid) - cpuFrom[i]!));
    }
    stop = true;
    await Promise.all(running);
  };
  for (const of of targets) await slice(of, args.warmupMs, 0);
  const slices = Math.max(1, Math.round(args.durationMs / args.sliceMs));
  for (let i = 0; i < slices; i++) {
    for (const of of i % 2 ? [...targets].reverse() : targets) await slice(of, SLICE_LEAD_MS, args.sliceMs);
  }
  const results: CallsResult[] = [];
  for (const { session, latencies, ms, cpu } of targets) {
    await session.close();
    const sorted = Float64Array.from(latencies).sort();
    const firstError = session.firstError();
    results.push({ requests: latencies.length, errors: session.errors(), rps: latencies.length / (ms / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99), cpuMs: cpu, ...(firstError ? { firstError } : {}) });
  }
  return results;
}

/** Messages from the orchestrator that let a batch go on (after it has read a counter or switched one on). */
const go = new Set<number>();
const goWaiters = new Map<number, () => void>();
function waitForGo(id: number): Promise<void> {
  if (go.delete(id)) return Promise.resolve();
  return new Promise((resolve) => goWaiters.set(id, resolve));
}

/**
 * A fixed number of tools/call requests over N connections: `warmup` uncounted ones, then the event
 * 'start', then exactly `requests`, then 'stop'. After each event the batch waits for the orchestrator's
 * go-ahead, so what it measures around the counted requests (CPU time, instruction counts) is in place.
 */
async function batch(args: BatchArgs, id: number): Promise<BatchResult> {
  const session = await sessionsOf(args);
  const run = async (total: number) => {
    let left = total;
    await Promise.all(
      session.sessions.map(async (name) => {
        while (left > 0) {
          left--;
          await session.call(name);
        }
      }),
    );
  };
  await run(args.warmup);
  process.send!({ id, event: 'start' });
  await waitForGo(id);
  const errorsBefore = session.errors();
  const from = performance.now();
  await run(args.requests);
  const ms = performance.now() - from;
  const errors = session.errors() - errorsBefore;
  process.send!({ id, event: 'stop' });
  await waitForGo(id);
  await session.close();
  const firstError = session.firstError();
  return { requests: args.requests, errors, ms, ...(firstError ? { firstError } : {}) };
}

// --- event streams ---

interface OpenStream {
  request: ClientRequest;
  response?: IncomingMessage;
}
let streams: OpenStream[] = [];
let sseLatencies: number[] | undefined;

async function sseOpen(args: { url: string; headers: Record<string, string>; streams: number }): Promise<{ opened: number; ms: number }> {
  const started = performance.now();
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const opened = Array.from({ length: args.streams }, () =>
    new Promise<void>((resolve, reject) => {
      const request = httpRequest(args.url, { agent, headers: { accept: 'text/event-stream', ...args.headers } });
      const stream: OpenStream = { request };
      streams.push(stream);
      request.once('error', reject);
      request.once('response', (response) => {
        stream.response = response;
        if (response.statusCode !== 200) return reject(new Error(`stream answered ${response.statusCode}`));
        response.setEncoding('utf8');
        let buffer = '';
        let first = true;
        response.on('data', (chunk: string) => {
          const now = process.hrtime.bigint();
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!event.startsWith('data: ')) continue;
            if (first) {
              first = false;
              resolve();
            }
            sseLatencies?.push(Number(now - BigInt(event.slice(6))) / 1e6);
          }
        });
      });
      request.end();
    }),
  );
  await Promise.all(opened);
  return { opened: streams.length, ms: performance.now() - started };
}

async function sseMeasure(args: { ms: number }): Promise<{ events: number; p50: number; p99: number }> {
  sseLatencies = [];
  await delay(args.ms);
  const sorted = Float64Array.from(sseLatencies).sort();
  sseLatencies = undefined;
  return { events: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function sseClose(): Promise<{ closed: number }> {
  const closed = streams.length;
  for (const stream of streams) stream.request.destroy();
  streams = [];
  await delay(200);
  return { closed };
}

const ops: Record<string, (args: never, id: number) => Promise<unknown>> = { calls, batch, sseOpen, sseMeasure, sseClose };
process.on('message', (message: { id: number; op: string; args: unknown }) => {
  if (message.op === 'go') {
    const waiter = goWaiters.get(message.id);
    goWaiters.delete(message.id);
    if (waiter) waiter();
    else go.add(message.id);
    return;
  }
  ops[message.op]!(message.args as never, message.id).then(
    (result) => process.send!({ id: message.id, result }),
    (error: unknown) => process.send!({ id: message.id, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
