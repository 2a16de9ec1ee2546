/**
 * The load generator, in its own process (pinned to the other core). Driven over IPC by
 * bench/run.ts: { id, op, args } in, { id, result } or { id, error } out.
 *   calls     N connections, one MCP session each (initialize once), then tools/call echo in a loop
 *   sseOpen   open N GET event streams; resolves when every stream has had its first event
 *   sseMeasure  collect event latencies (monotonic clock stamped by the server) for a while
 *   sseClose  drop every stream
 */
import { request as httpRequest, Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import { Pool } from 'undici';

const PROTOCOL = '2025-06-18';

export interface CallsArgs {
  url: string;
  headers: Record<string, string>;
  connections: number;
  warmupMs: number;
  durationMs: number;
}

export interface CallsResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  firstError?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function calls(args: CallsArgs, id: number): Promise<CallsResult> {
  const url = new URL(args.url);
  const pool = new Pool(url.origin, { connections: args.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...args.headers };
  const post = async (headers: Record<string, string>, body: unknown) => {
    const response = await pool.request({ path: url.pathname, method: 'POST', headers: { ...base, ...headers }, body: JSON.stringify(body) });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  };

  // One session per connection, as a real MCP client would have.
  const sessions: string[] = [];
  for (let i = 0; i < args.connections; i++) {
    const init = await post({}, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
    const session = init.headers['mcp-session-id'];
    if (init.status !== 200 || typeof session !== 'string') throw new Error(`initialize answered ${init.status}: ${init.text.slice(0, 200)}`);
    await post({ 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL }, { jsonrpc: '2.0', method: 'notifications/initialized' });
    sessions.push(session);
  }

  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stop = false;
  const worker = async (session: string) => {
    const headers = { ...base, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL };
    let id = 1;
    while (!stop) {
      const started = performance.now();
      try {
        const response = await pool.request({
          path: url.pathname,
          method: 'POST',
          headers,
          body: `{"jsonrpc":"2.0","id":${id++},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello bench"}}}`,
        });
        const text = await response.body.text();
        if (response.statusCode !== 200 || !text.includes('hello bench')) {
          errors++;
          firstError ??= `${response.statusCode} ${text.slice(0, 200)}`;
          continue;
        }
      } catch (error) {
        errors++;
        firstError ??= String(error);
        continue;
      }
      if (measuring) latencies.push(performance.now() - started);
    }
  };
  const running = sessions.map(worker);
  await new Promise((resolve) => setTimeout(resolve, args.warmupMs));
  // The orchestrator samples the servers' CPU time on these two events.
  process.send!({ id, event: 'start' });
  measuring = true;
  const from = performance.now();
  await new Promise((resolve) => setTimeout(resolve, args.durationMs));
  measuring = false;
  const elapsed = performance.now() - from;
  process.send!({ id, event: 'stop' });
  const count = latencies.length;
  stop = true;
  await Promise.all(running);
  await Promise.all(sessions.map((session) => pool.request({ path: url.pathname, method: 'DELETE', headers: { ...args.headers, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL } }).then((r) => r.body.dump(), () => {})));
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  return { requests: count, errors, rps: count / (elapsed / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99), ...(firstError ? { firstError } : {}) };
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
  await new Promise((resolve) => setTimeout(resolve, args.ms));
  const sorted = Float64Array.from(sseLatencies).sort();
  sseLatencies = undefined;
  return { events: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function sseClose(): Promise<{ closed: number }> {
  const closed = streams.length;
  for (const stream of streams) stream.request.destroy();
  streams = [];
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { closed };
}

const ops: Record<string, (args: never, id: number) => Promise<unknown>> = { calls, sseOpen, sseMeasure, sseClose };
process.on('message', (message: { id: number; op: string; args: unknown }) => {
  ops[message.op]!(message.args as never, message.id).then(
    (result) => process.send!({ id: message.id, result }),
    (error: unknown) => process.send!({ id: message.id, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
