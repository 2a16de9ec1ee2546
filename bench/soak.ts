/**
 * Soak: mixed traffic through one proxy process for a long time (10 minutes by
 * default) — SDK clients signing in, calling tools, streaming progress over
 * SSE, holding their GET event streams open and refreshing short-lived access
 * tokens — while the proxy's resident memory is sampled. Passes when nothing
 * failed and memory in the last third of the run is flat against the second.
 *
 *   npm run bench:soak -- [--minutes 10] [--clients 20] [--access-token-ttl 20]
 *
 * The identity provider and the MCP server run in this process; the proxy runs
 * alone in a child process so its memory is its own.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startDemoMcpServer } from '../src/dev/demo-mcp-server.js';
import { startEmbeddedIdp } from '../src/dev/embedded-idp.js';
import { generateMasterKey } from '../src/crypto/keyring.js';
import { connectWithOAuth, TestOAuthProvider, textOf, type ConnectedClient } from '../test/support/mcp-client.js';
import { freePort } from '../test/support/ports.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    clients: { type: 'string', default: '20' },
    'access-token-ttl': { type: 'string', default: '20' },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const clientCount = Number(values.clients);
const SAMPLE_EVERY_MS = Math.max(1000, Math.min(10_000, durationMs / 30));
// Memory may grow this much from the second third of the run to the last before it counts as a leak.
const FLAT_TOLERANCE = 0.1;

const port = await freePort();
const publicUrl = `http://127.0.0.1:${port}`;
const idp = await startEmbeddedIdp({
  clients: [{ client_id: 'soak', client_secret: 'soak-upstream-secret', redirect_uris: [`${publicUrl}/oauth/callback`] }],
});
const demo = await startDemoMcpServer();

// The built CLI (npm run bench:soak builds it), so the loader of TypeScript sources is not part of what is measured.
const proxy = spawn(process.execPath, [new URL('../dist/cli.js', import.meta.url).pathname, 'serve'], {
  env: {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: String(port),
    CAPSULE_PUBLIC_URL: publicUrl,
    CAPSULE_KEYS: generateMasterKey(),
    CAPSULE_UPSTREAM_ISSUER: idp.issuer,
    CAPSULE_UPSTREAM_CLIENT_ID: 'soak',
    CAPSULE_UPSTREAM_CLIENT_SECRET: 'soak-upstream-secret',
    CAPSULE_UPSTREAM_SCOPES: 'openid email profile offline_access',
    CAPSULE_MCP_URL: demo.url,
    // Short-lived access tokens make every client refresh many times during the run.
    CAPSULE_ACCESS_TOKEN_TTL: String(values['access-token-ttl']),
    CAPSULE_REGISTRATION_RATE_LIMIT: '10000',
    CAPSULE_AUDIT_LOG: 'off',
    CAPSULE_LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let proxyOutput = '';
proxy.stdout.on('data', (chunk) => (proxyOutput += chunk));
proxy.stderr.on('data', (chunk) => (proxyOutput += chunk));
await waitForReady(`${publicUrl}/readyz`);

const counts = { calls: 0, streamedCalls: 0, progressEvents: 0, failures: 0 };
const failures: string[] = [];
const samples: Array<{ atS: number; rssMb: number }> = [];
const started = performance.now();
const deadline = started + durationMs;

const sampler = setInterval(() => samples.push({ atS: (performance.now() - started) / 1000, rssMb: rssMb(proxy.pid!) }), SAMPLE_EVERY_MS);

async function runClient(index: number): Promise<void> {
  const provider = new TestOAuthProvider({ login: `soak-user-${index}` });
  let connected: ConnectedClient = await connectWithOAuth(`${publicUrl}/mcp`, provider);
  while (performance.now() < deadline) {
    try {
      if (index % 4 === 0) {
        // Streams progress over SSE for about a second.
        const result = await connected.client.callTool({ name: 'countdown', arguments: { from: 5, delayMs: 200 } }, undefined, {
          onprogress: () => void counts.progressEvents++,
        });
        if (textOf(result) !== 'liftoff') throw new Error(`countdown said ${textOf(result)}`);
        counts.streamedCalls += 1;
      } else {
        const text = `soak ${index} ${counts.calls}`;
        const result = await connected.client.callTool({ name: 'echo', arguments: { text } });
        if (!textOf(result).includes(text)) throw new Error('echo did not echo');
        counts.calls += 1;
      }
    } catch (error) {
      counts.failures += 1;
      if (failures.length < 10) failures.push(`client ${index}: ${error instanceof Error ? error.message : String(error)}`);
      await connected.client.close().catch(() => undefined);
      connected = await connectWithOAuth(`${publicUrl}/mcp`, provider);
    }
    await sleep(50 + (index % 5) * 20);
  }
  await connected.client.close();
}

try {
  await Promise.all(Array.from({ length: clientCount }, (_, index) => runClient(index)));
} finally {
  clearInterval(sampler);
}
const metrics = await (await fetch(`${publicUrl}/metrics`)).text();
proxy.kill('SIGTERM');
await new Promise((resolve) => proxy.once('exit', resolve));
await Promise.all([idp.close(), demo.close()]);

const refreshes = metricValue(metrics, 'mcp_capsule_tokens_issued_total{grant_type="refresh_token"}');
const logins = metricValue(metrics, 'mcp_capsule_tokens_issued_total{grant_type="authorization_code"}');
const third = Math.floor(samples.length / 3);
const middle = median(samples.slice(third, 2 * third).map((sample) => sample.rssMb));
const last = median(samples.slice(2 * third).map((sample) => sample.rssMb));
const growth = (last - middle) / middle;
const flat = growth <= FLAT_TOLERANCE;

console.log(`\n| soak | value |\n|---|---|`);
console.log(`| duration | ${(durationMs / 60_000).toFixed(1)} min, ${clientCount} SDK clients (${Math.ceil(clientCount / 4)} streaming) |`);
console.log(`| tool calls (JSON / SSE with progress) | ${counts.calls} / ${counts.streamedCalls} (${counts.progressEvents} progress events) |`);
console.log(`| logins / refreshes | ${logins} / ${refreshes} |`);
console.log(`| failures | ${counts.failures} |`);
console.log(`| proxy RSS first / middle third / last third / max | ${samples[0]?.rssMb.toFixed(1)} / ${middle.toFixed(1)} / ${last.toFixed(1)} / ${Math.max(...samples.map((s) => s.rssMb)).toFixed(1)} MB |`);
console.log(`| growth, middle → last third | ${(growth * 100).toFixed(1)} % (flat if ≤ ${FLAT_TOLERANCE * 100} %) |`);
// The curve itself: growth that levels off (the heap reaching its size for this load) reads differently from a steady climb.
const byMinute = new Map<number, number>();
for (const sample of samples) byMinute.set(Math.floor(sample.atS / 60), sample.rssMb);
console.log(`| proxy RSS at the end of each minute | ${[...byMinute.values()].map((mb) => mb.toFixed(1)).join(', ')} MB |`);
for (const failure of failures) console.log(`failure: ${failure}`);
if (/"level":"error"/.test(proxyOutput)) console.log(`proxy logged errors:\n${proxyOutput.split('\n').filter((line) => line.includes('"level":"error"')).slice(0, 5).join('\n')}`);
const passed = counts.failures === 0 && flat && refreshes > 0 && !/"level":"error"/.test(proxyOutput);
console.log(passed ? '\nsoak passed' : '\nsoak FAILED');
process.exit(passed ? 0 : 1);

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function waitForReady(url: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the proxy did not become ready:\n${proxyOutput}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
