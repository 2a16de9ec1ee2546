/**
 * All benchmarks, one command: npm run bench [-- --quick] [-- --rounds N --duration SECONDS]
 * Servers run in child processes pinned to core 0, the load generator pinned to core 1
 * (taskset, when there are two cores or more); every scenario measures its baseline in the
 * same run, variants alternate their order each round, and medians of the rounds are printed.
 * See bench/README.md for the method and the targets.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CapsuleCodec } from '../src/crypto/capsule.js';
import type { AccessPayload } from '../src/domain/capsule-schemas.js';
import { KeyRing } from '../src/crypto/keyring.js';
import { parseConfig } from '../src/config/load.js';
import { routeSignsIn } from '../src/config/routes.js';
import { startEmbeddedIdp } from '../src/dev/embedded-idp.js';
import { bundleCli } from '../scripts/bundle-cli.mjs';
import { redeemCode, register, signIn } from '../test/support/oauth-flow.js';
import { freePort } from '../test/support/ports.js';
import type { BatchArgs, BatchResult, CallsArgs, CallsResult } from './load.js';
import type { ChildSpec } from './servers/child.js';
import { cpuMs } from './cpu-time.js';
import { accepts } from './servers/port.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const build = join(here, '.build');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    streams: { type: 'string' },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    downstreams: { type: 'string' },
    modes: { type: 'string' },
  },
});
const QUICK = flags.quick!;
const ROUNDS = Number(flags.rounds ?? (QUICK ? 1 : 5));
const DURATION_MS = Number(flags.duration ?? (QUICK ? 1 : 4)) * 1000;
const WARMUP_MS = QUICK ? 300 : 1000;
/**
 * A proxy's tools/call window and the bare proxy's beside it take turns in slices of this length, so both are counted
 * over the same seconds (each slice starts with uncounted requests, see bench/load.ts). Measured one after the other,
 * 4 s each, the medians of five such pairs missed the targets in different modes in two runs of the same code (see
 * bench/README.md).
 */
const SLICE_MS = QUICK ? 250 : 400;
const STREAMS = Number(flags.streams ?? 1000);
const LOGINS = QUICK ? 3 : 15;
const STARTS = QUICK ? 2 : 7;
/** --only calls,cpu,instructions,sse,capsule,login,startup */
const ONLY = new Set((flags.only ?? 'calls,cpu,instructions,sse,capsule,login,startup').split(','));
/**
 * CPU per request: pairs of fixed batches (the bare proxy's, then a variant's, or the other way
 * round), each of BATCH requests at BATCH_CONNECTIONS. On a shared VM one proxy's batches differ
 * by up to 3× from one minute to the next (the bare proxy's own: 176–595 µs through the SDK server
 * in one run), so single pairs do too: with 7 pairs one variant's median read 1.05, 1.21 and 1.30 in three
 * runs of the same code (client-credentials, SDK server); 15 give each median more pairs to stand on.
 */
const CPU_PAIRS = QUICK ? 3 : 15;
const BATCH = QUICK ? 1000 : 3000;
const BATCH_WARMUP = QUICK ? 200 : 300;
const BATCH_CONNECTIONS = 10;
/**
 * Instructions per request under callgrind: requests before switching it on (so V8 has optimised the hot path: with
 * --trace-opt, V8 still optimised about 100 functions per 5,000 requests between the 5,000th and the 10,000th, and none
 * after the 20,000th), then several counted windows. Each window is a batch of the load generator, on connections (and
 * MCP sessions) of its own, and so is each round of the warm-up: with one long warm-up on one set of connections, the
 * first windows' new connections made V8 drop and recompile 50 to 60 functions of Node's HTTP server (--trace-deopt:
 * maps of a new socket, `parserOnIncoming` and `assignSocket`), which those windows counted at 1.3 to 2.5 times the
 * later ones, for the bare proxy too; after three rounds on new connections no window compiled more than 8.
 * A window that catches a major GC still counts more; the mean spreads it over the requests of every window.
 */
const CALLGRIND_WARMUP_ROUNDS = QUICK ? 1 : 3;
const CALLGRIND_WARMUP = QUICK ? 2000 : 30000;
const CALLGRIND_REQUESTS = QUICK ? 300 : 2000;
const CALLGRIND_WINDOWS = QUICK ? 3 : 10;

const KEY = 'A'.repeat(43);
const CC_SECRET = 'cc-client-secret-0123456789';
const API_KEY = 'bench-downstream-api-key';
/** What a pat-mode client sends as its own token; the proxy forwards it without checking it. */
const PAT = 'bench-personal-access-token';

// --- processes ---

const CORES = availableParallelism();
const PIN = existsSync('/usr/bin/taskset') && CORES >= 2;
const SERVER_CORE = '0';
const LOAD_CORE = '1';
if (PIN) execFileSync('taskset', ['-a', '-cp', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });

/** `args` run by node, or by `command` (Bun), behind an optional `prefix` (valgrind and its options). */
function spawnPinned(core: string, args: string[], options: Parameters<typeof spawn>[2], prefix: string[] = [], command = process.execPath): ChildProcess {
  const line = [...prefix, command, ...args];
  return PIN ? spawn('taskset', ['-c', core, ...line], options) : spawn(line[0]!, line.slice(1), options);
}

const BUN = join(root, 'node_modules/.bin/bun');
const HAS_BUN = existsSync(BUN);
const onPath = (name: string) => {
  try {
    execFileSync('which', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const HAS_CALLGRIND = onPath('valgrind') && onPath('callgrind_control');

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

class Server {
  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    readonly url: string,
    /** Started by child.ts, with its IPC channel (memory, clean exit); otherwise a plain process (Bun). */
    private readonly ipc = true,
  ) {}

  /** `prefix` runs the server under another command (valgrind); `nodeFlags` go to Node before the server's script. */
  static start(name: string, spec: ChildSpec, prefix: string[] = [], nodeFlags: string[] = []): Promise<Server> {
    // --profile: CPU profiles of the proxies, written to bench/.build/profiles when they stop.
    const profile = flags.profile && (spec.kind === 'capsule-bundle' || spec.kind === 'bare') ? ['--cpu-prof', `--cpu-prof-dir=${join(build, 'profiles')}`, `--cpu-prof-name=${name.replace(/\W+/g, '-')}.cpuprofile`] : [];
    const proc = spawnPinned(
      SERVER_CORE,
      [...profile, ...nodeFlags, '--expose-gc', join(build, 'bench/servers/child.js'), JSON.stringify(spec)],
      { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
      prefix,
    );
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${stderr}`)));
      proc.once('message', (message: { type: string; url: string }) => resolve(new Server(name, proc, message.url)));
    });
  }

  /** A process that is not child.ts, ready once its port accepts connections. */
  static async plain(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, port: number, url: string): Promise<Server> {
    const proc = spawnPinned(SERVER_CORE, args, { stdio: ['ignore', 'ignore', 'pipe'], env }, [], command);
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)));
    while (!(await accepts(port))) {
      if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}): ${stderr}`);
      await delay(10);
    }
    return new Server(name, proc, url, false);
  }

  mem(): Promise<Memory> {
    return new Promise((resolve) => {
      const onMessage = (message: Memory & { type: string }) => {
        if (message.type !== 'mem') return;
        this.proc.off('message', onMessage);
        resolve(message);
      };
      this.proc.on('message', onMessage);
      this.proc.send({ type: 'mem' });
    });
  }

  async stop(): Promise<void> {
    this.proc.removeAllListeners('exit');
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    if (this.ipc) this.proc.send({ type: 'exit' });
    else this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

class LoadGenerator {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void; onEvent?: ((event: string, go: () => void) => void) | undefined }>();
  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (message: { id: number; result?: unknown; error?: string; event?: string }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      if (message.event !== undefined) return waiter.onEvent?.(message.event, () => this.proc.send({ id: message.id, op: 'go' }));
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result as never);
    });
  }

  static start(): Promise<LoadGenerator> {
    const proc = spawnPinned(LOAD_CORE, [join(build, 'bench/load.js')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve) => proc.once('message', () => resolve(new LoadGenerator(proc))));
  }

  /** `onEvent` gets the load generator's events; a batch goes on only once `go` is called. */
  run<T>(op: string, args: unknown, onEvent?: (event: string, go: () => void) => void): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject, onEvent });
      this.proc.send({ id, op, args });
    });
  }

  stop(): void {
    this.proc.kill('SIGKILL');
  }
}

// --- statistics and printing ---

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const mean = (values: number[]): number => (values.length === 0 ? NaN : values.reduce((sum, value) => sum + value, 0) / values.length);
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const yes = (ok: boolean) => (ok ? 'yes' : '**no**');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const output: string[] = [];
const print = (text = '') => {
  output.push(text);
  console.log(text);
};
const progress = (text: string) => process.stderr.write(`· ${text}\n`);

// --- setup ---

async function compile(): Promise<void> {
  progress('compiling src and bench into bench/.build');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
  // The CLI as it ships (npm run build): the esbuild bundle with its code cache, and once more without the cache, for the start-up scenario.
  await bundleCli({ outdir: join(build, 'bundle') });
  await bundleCli({ outdir: join(build, 'bundle-without-cache'), codeCache: false });
}

function proxyInput(port: number, issuer: string, routes: Array<Record<string, unknown>>): Record<string, unknown> {
  return {
    keys: KEY,
    publicUrl: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    upstream: { issuer, clientId: 'proxy', clientSecret: 'proxy-upstream-secret', scopes: 'openid email profile offline_access' },
    routes,
    registration: { perMinute: 10_000 },
    clientMetadataDocuments: {},
    ttl: {},
  };
}

/** Every fetch the headless browser makes, timed to the response head, by origin. */
const realFetch = globalThis.fetch;
const fetchTime = new Map<string, number>();
globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
  const origin = new URL(input instanceof Request ? input.url : input).origin;
  const started = performance.now();
  try {
    return await realFetch(input, init);
  } finally {
    fetchTime.set(origin, (fetchTime.get(origin) ?? 0) + performance.now() - started);
  }
};

async function login(publicUrl: string): Promise<{ token: string; totalMs: number; proxyMs: number; idpMs: number; idpOrigin: string }> {
  fetchTime.clear();
  const started = performance.now();
  const client = await register(publicUrl);
  const callback = await signIn(publicUrl, client, { login: 'alice' });
  const tokens = await redeemCode(publicUrl, client, callback.searchParams.get('code')!);
  const totalMs = performance.now() - started;
  if (tokens.status !== 200) throw new Error(`token request answered ${tokens.status}`);
  const proxyMs = fetchTime.get(new URL(publicUrl).origin) ?? 0;
  return { token: tokens.body.access_token as string, totalMs, proxyMs, idpMs: totalMs - proxyMs, idpOrigin: '' };
}

// --- scenarios ---

interface Variant {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The credential mode of mcp-capsule on Node, which is held to the targets; none for the baselines and Bun. */
  mode?: string;
  /** The proxy process, if any; the downstream's CPU is counted as well. */
  proxy?: Server;
  /** A second baseline for the calls table only: the bare proxy sent what a signed-in client sends. */
  reference?: true;
}

interface Measured extends CallsResult {
  /** CPU µs per request: the proxy, and the proxy plus the downstream. */
  proxyCpu: number;
  serverCpu: number;
}

/** One line of the closing table: a target, what this run measured against it, and the credential modes that miss it. */
const verdicts: Array<{ target: string; measured: string; met: boolean; missedBy: string[] }> = [];
/** Each credential mode's value (or one value, `mode` empty) against a target that holds only if every one meets it. */
type Measurement = { mode: string; value: number; note?: string };
function verdict(target: string, values: Measurement[], format: (value: number) => string, meets: (value: number) => boolean): void {
  const missed = values.filter(({ value }) => !meets(value));
  verdicts.push({
    target,
    measured: values.map(({ mode, value, note }) => [mode, format(value), note].filter(Boolean).join(' ')).join(', ') || '–',
    met: values.length > 0 && missed.length === 0,
    missedBy: missed.map(({ mode }) => mode).filter(Boolean),
  });
}
const range = (values: number[], format: (value: number) => string) => {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '–';
  const [low, high] = [Math.min(...finite), Math.max(...finite)];
  return low === high ? format(low) : `${format(low)} to ${format(high)}`;
};
const signed = (value: number) => `${value >= 0 ? '+' : ''}${fixed(value)}`;

/** Targets for tools/call: req/s at 50 connections and p50 at 1 connection, against the bare proxy of the same downstream. */
const THROUGHPUT_TARGET = 0.92;
const P50_TARGET_MS = 0.1;
const CPU_TARGET = 1.15;
const INSTRUCTIONS_TARGET = 1.15;
const STARTUP_TARGET = 2;

async function throughput(load: LoadGenerator, downstream: Server, label: string, variants: Variant[]): Promise<void> {
  const results = new Map<string, Measured[]>();
  const key = (variant: string, connections: number) => `${variant}@${connections}`;
  const bareVariant = variants.find((variant) => variant.name === 'bare proxy')!;
  /** Per variant and connection count, the bare proxy's slices taken in turn with its own, one set per round. */
  const alongsideBare = new Map<string, Measured[]>();
  /** One window of each variant; two take turns in slices. */
  const measure = async (measured: Variant[], connections: number): Promise<Measured[]> => {
    const targets = measured.map((variant) => ({ url: variant.url, headers: variant.headers, pids: [downstream.proc.pid!, ...(variant.proxy ? [variant.proxy.proc.pid!] : [])] }));
    const args: CallsArgs = { targets, connections, warmupMs: WARMUP_MS, durationMs: DURATION_MS, sliceMs: SLICE_MS };
    const results = await load.run<CallsResult[]>('calls', args);
    return results.map((calls, i) => {
      const perRequest = (ms: number) => (ms * 1000) / calls.requests;
      if (calls.errors > 0) progress(`  ${measured[i]!.name}: ${calls.errors} errors, first: ${calls.firstError}`);
      return { ...calls, serverCpu: perRequest(calls.cpuMs.reduce((a, b) => a + b, 0)), proxyCpu: perRequest(calls.cpuMs[1] ?? 0) };
    });
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const connections of [1, 50]) {
      // Alternate the order: forwards on even rounds, backwards on odd ones.
      const order = round % 2 ? [...variants].reverse() : variants;
      for (const [index, variant] of order.entries()) {
        progress(`round ${round + 1}/${ROUNDS} (${label}): ${variant.name}, ${connections} connection(s)`);
        // Each proxy takes turns with the bare proxy, which goes first in every other pair: the bare proxy's p50
        // and req/s move by more than the targets' margins between windows measured one after the other (see bench/README.md).
        const paired = variant.proxy !== undefined && variant !== bareVariant;
        const windowKey = key(variant.name, connections);
        let result: Measured;
        if (paired) {
          const bareFirst = (round + index) % 2 === 0;
          const [first, second] = await measure(bareFirst ? [bareVariant, variant] : [variant, bareVariant], connections);
          const [bare, own] = bareFirst ? [first!, second!] : [second!, first!];
          alongsideBare.set(windowKey, [...(alongsideBare.get(windowKey) ?? []), bare]);
          result = own;
        } else {
          [result] = (await measure([variant], connections)) as [Measured];
        }
        results.set(windowKey, [...(results.get(windowKey) ?? []), result]);
      }
    }
  }

  print(`### MCP tools/call through to ${label}, median of ${ROUNDS} round(s) × ${DURATION_MS / 1000} s`);
  print();
  print(`Targets: req/s at 50 connections ≥ ${THROUGHPUT_TARGET}× the bare proxy; p50 at 1 connection ≤ bare proxy p50 + ${P50_TARGET_MS} ms.`);
  print('Server CPU = CPU time of the proxy and the downstream (all threads) per request, over the timed window; CPU capacity × bare = the');
  print("bare proxy's server CPU per request ÷ this variant's: the throughput ratio on a saturated core that nothing else uses.");
  print(`× bare, Δp50 vs bare and CPU capacity × bare of a proxy: the median over the rounds of its window against the bare proxy's, the two`);
  print(`taking turns in slices of ${SLICE_MS / 1000} s (A B B A …); of the direct connection, against the bare proxy window of its round.`);
  print("Range over rounds: the lowest and highest round of the column the target is on (× bare at 50 connections, Δp50 at 1).");
  print();
  const rows: string[][] = [];
  const ratios50: Measurement[] = [];
  const deltas1: Measurement[] = [];
  for (const connections of [1, 50]) {
    const of = (name: string) => results.get(key(name, connections))!;
    const bare = of('bare proxy');
    const direct = of('direct');
    for (const variant of variants) {
      const runs = of(variant.name);
      // Each window against its baseline (the bare proxy's slices taken in turn with it, or the round's window), then the median.
      const baselines = alongsideBare.get(key(variant.name, connections)) ?? bare;
      const vsBareByRound = runs.map((run, i) => run.rps / baselines[i]!.rps);
      const deltaP50ByRound = runs.map((run, i) => run.p50 - baselines[i]!.p50);
      const vsBare = median(vsBareByRound);
      const vsDirect = median(runs.map((run, i) => run.rps / direct[i]!.rps));
      const p50 = median(runs.map((run) => run.p50));
      const deltaP50 = median(deltaP50ByRound);
      // Throughput on a saturated, uncontended core: the CPU one request costs the servers, against the bare proxy's.
      const capacityVsBare = median(runs.map((run, i) => baselines[i]!.serverCpu / run.serverCpu));
      let met = '';
      if (variant.mode !== undefined && connections === 1) {
        met = yes(deltaP50 <= P50_TARGET_MS);
        deltas1.push({ mode: variant.mode, value: deltaP50 });
      }
      if (variant.mode !== undefined && connections === 50) {
        met = yes(vsBare >= THROUGHPUT_TARGET);
        ratios50.push({ mode: variant.mode, value: vsBare });
      }
      rows.push([
        variant.name,
        String(connections),
        Math.round(median(runs.map((run) => run.rps))).toString(),
        fixed(p50),
        fixed(median(runs.map((run) => run.p99))),
        fixed(vsBare),
        fixed(vsDirect),
        variant.name === 'bare proxy' ? '' : signed(deltaP50),
        variant.proxy === undefined || variant === bareVariant ? '' : connections === 1 ? range(deltaP50ByRound, signed) : range(vsBareByRound, fixed),
        variant.proxy ? fixed(median(runs.map((run) => run.proxyCpu)), 0) : '',
        fixed(median(runs.map((run) => run.serverCpu)), 0),
        fixed(capacityVsBare),
        String(runs.reduce((sum, run) => sum + run.errors, 0)),
        met,
      ]);
    }
  }
  print(table(['variant', 'conns', 'req/s', 'p50 ms', 'p99 ms', '× bare', '× direct', 'Δp50 vs bare ms', 'range over rounds', 'proxy CPU µs/req', 'server CPU µs/req', 'CPU capacity × bare', 'errors', 'target met'], rows));
  print();
  verdict(`req/s at 50 connections ≥ ${THROUGHPUT_TARGET}× bare (${label})`, ratios50, (ratio) => `${fixed(ratio)}×`, (ratio) => ratio >= THROUGHPUT_TARGET);
  verdict(`p50 at 1 connection ≤ bare + ${P50_TARGET_MS} ms (${label})`, deltas1, (delta) => `${signed(delta)} ms`, (delta) => delta <= P50_TARGET_MS);
}

/** CPU ms the process spent on one batch of BATCH requests, sampled when the counted requests start and end. */
async function batchCpu(load: LoadGenerator, variant: Variant, warmup: number): Promise<number> {
  const pid = variant.proxy!.proc.pid!;
  const cpu: number[] = [];
  const result = await load.run<BatchResult>('batch', { url: variant.url, headers: variant.headers, connections: BATCH_CONNECTIONS, warmup, requests: BATCH } satisfies BatchArgs, (_event, go) => {
    cpu.push(cpuMs(pid));
    go();
  });
  if (result.errors > 0) throw new Error(`${variant.name}: ${result.errors} errors in a batch, first: ${result.firstError}`);
  return ((cpu[1]! - cpu[0]!) * 1000) / BATCH;
}

async function cpuPerRequest(load: LoadGenerator, label: string, bare: Variant, variants: Variant[]): Promise<void> {
  const rows: string[][] = [];
  const bareAll: number[] = [];
  const ratios: Measurement[] = [];
  const measured: Array<{ variant: Variant; own: number[]; pairs: number[] }> = [];
  for (const variant of variants) {
    const own: number[] = [];
    const pairs: number[] = [];
    for (let pair = 0; pair < CPU_PAIRS; pair++) {
      progress(`CPU pair ${pair + 1}/${CPU_PAIRS} (${label}): ${variant.name}`);
      // Which of the two goes first alternates.
      const first = pair % 2 ? variant : bare;
      const second = pair % 2 ? bare : variant;
      const a = await batchCpu(load, first, BATCH_WARMUP);
      const b = await batchCpu(load, second, BATCH_WARMUP);
      const [ofBare, ofVariant] = pair % 2 ? [b, a] : [a, b];
      bareAll.push(ofBare);
      own.push(ofVariant);
      pairs.push(ofVariant / ofBare);
    }
    measured.push({ variant, own, pairs });
  }
  print(`### Proxy CPU per request through to ${label}: ${CPU_PAIRS} pairs of batches of ${BATCH} tools/call at ${BATCH_CONNECTIONS} connections`);
  print();
  print(`Target: ≤ ${CPU_TARGET}× the bare proxy. CPU time of the proxy process alone (all threads), ${PIN ? 'pinned to core 0 (taskset)' : 'not pinned (taskset or a second core missing)'};`);
  print("each batch of a variant is paired with a batch through the bare proxy right before or after it; × bare is the median of the pairs' ratios.");
  print();
  rows.push(['bare proxy', fixed(median(bareAll), 0), range(bareAll, (value) => fixed(value, 0)), '1.00', '']);
  for (const { variant, own, pairs } of measured) {
    const ratio = median(pairs);
    if (variant.mode !== undefined) ratios.push({ mode: variant.mode, value: ratio });
    rows.push([variant.name, fixed(median(own), 0), range(own, (value) => fixed(value, 0)), fixed(ratio), variant.mode !== undefined ? yes(ratio <= CPU_TARGET) : '']);
  }
  print(table(['variant', 'proxy CPU µs/req', 'range over batches', '× bare (median of pairs)', 'target met'], rows));
  print();
  verdict(`proxy CPU per request ≤ ${CPU_TARGET}× bare (${label})`, ratios, (ratio) => `${fixed(ratio)}×`, (ratio) => ratio <= CPU_TARGET);
}

/**
 * Instructions per request of one proxy under callgrind, counted only around the measured requests:
 * instrumentation starts off (--instr-atstart=no) and `callgrind_control -i on/off` switches it around them.
 */
/** Instructions per request in one window: every thread of the proxy, and its main thread alone. */
interface Counted {
  all: number;
  main: number;
}

async function instructionsOf(load: LoadGenerator, name: string, spec: ChildSpec, path: string, headers: Record<string, string>): Promise<Counted[]> {
  const out = join(build, 'callgrind', `${name.replace(/\W+/g, '-')}.out`);
  mkdirSync(dirname(out), { recursive: true });
  for (const file of readdirSync(dirname(out))) if (file.startsWith(basename(out))) rmSync(join(dirname(out), file));
  // Under valgrind a proxy runs some 50 times slower, so V8 sees little allocation per second and its memory reducer
  // takes it for idle: a `Mark-Compact (reduce)` (--trace-gc) shrank the heap from 48 to 16 MB, the next windows ran
  // 8 times the usual scavenges and recompiled up to 94 functions, about a billion instructions counted in two windows.
  // At full speed under load no such GC came in 60,000 requests, so every proxy here runs without the memory reducer.
  const server = await Server.start(name, spec, ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`], ['--no-memory-reducer']);
  const pid = String(server.proc.pid!);
  // Each dump holds the counts since the previous one, in a file per thread (`<out>.<dump>-<thread>`, thread 1 the main
  // one): the newest dump, after `-i off`, holds the window's requests.
  const newestDump = (): Counted => {
    const files = readdirSync(dirname(out)).flatMap((file) => {
      const match = file.startsWith(`${basename(out)}.`) ? /\.(\d+)-(\d+)$/.exec(file) : null;
      return match ? [{ file, dump: Number(match[1]), thread: Number(match[2]) }] : [];
    });
    if (files.length === 0) return { all: NaN, main: NaN };
    const newest = Math.max(...files.map(({ dump }) => dump));
    const threads = files
      .filter(({ dump }) => dump === newest)
      .map(({ file, thread }) => ({ thread, count: Number(/^totals: (\d+)/m.exec(readFileSync(join(dirname(out), file), 'utf8'))?.[1] ?? NaN) }));
    return { all: threads.reduce((sum, { count }) => sum + count, 0), main: threads.find(({ thread }) => thread === 1)?.count ?? NaN };
  };
  const perRequest: Counted[] = [];
  let failed: unknown;
  try {
    // A failure here is kept and thrown once the batch is over, so the load generator is never left waiting.
    const control = (...args: string[]) => {
      try {
        execFileSync('callgrind_control', [...args, pid], { stdio: 'pipe' });
      } catch (error) {
        failed ??= new Error(`callgrind_control ${args.join(' ')}: ${(error as { stderr?: Buffer }).stderr?.toString().trim() || String(error)}`);
      }
    };
    const batchArgs = (requests: number): BatchArgs => ({ url: `${server.url}${path}`, headers, connections: BATCH_CONNECTIONS, warmup: 0, requests });
    for (let round = 0; round < CALLGRIND_WARMUP_ROUNDS; round++) {
      const warmup = await load.run<BatchResult>('batch', batchArgs(CALLGRIND_WARMUP / CALLGRIND_WARMUP_ROUNDS), (_event, go) => go());
      if (warmup.errors > 0) throw new Error(`${name} under callgrind, warming up: ${warmup.errors} errors, first: ${warmup.firstError}`);
    }
    for (let window = 0; window < CALLGRIND_WINDOWS; window++) {
      const result = await load.run<BatchResult>(
        'batch',
        batchArgs(CALLGRIND_REQUESTS),
        (event, go) => {
          if (event === 'start') {
            // No forced collection before a window: a full GC makes V8 drop optimised code, and the next 1,000 requests
            // then recompiled about 200 functions on V8's helper threads (counted with --trace-opt; 4 without the GC),
            // which the window counted as the proxy's own. A major GC that falls in a window is spread by the mean of them all.
            control('-i', 'on');
            go();
            return;
          }
          // The last responses' log lines are written on the proxy's next event-loop turn: let them be counted.
          setTimeout(() => {
            control('-i', 'off');
            control('-d');
            go();
          }, 300);
        },
      );
      if (result.errors > 0) throw new Error(`${name} under callgrind: ${result.errors} errors, first: ${result.firstError}`);
      if (failed !== undefined) throw failed;
      const counted = newestDump();
      perRequest.push({ all: counted.all / CALLGRIND_REQUESTS, main: counted.main / CALLGRIND_REQUESTS });
    }
  } finally {
    await server.stop();
  }
  return perRequest;
}

async function instructions(load: LoadGenerator, label: string, variants: Array<{ name: string; spec: ChildSpec; path: string; headers: Record<string, string>; mode?: string }>): Promise<void> {
  print(`### Instructions per request through to ${label} (callgrind)`);
  print();
  if (!HAS_CALLGRIND) {
    print('Not measured: valgrind or callgrind_control is not installed here (apt-get install valgrind).');
    print();
    return;
  }
  print(`Target: ≤ the bare proxy's + ${Math.round((INSTRUCTIONS_TARGET - 1) * 100)} %. Each proxy runs under \`valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes\` (Node with \`--no-memory-reducer\`); after ${CALLGRIND_WARMUP} uncounted`);
  print(`requests in ${CALLGRIND_WARMUP_ROUNDS} rounds, ${CALLGRIND_WINDOWS} windows of ${CALLGRIND_REQUESTS} tools/call at ${BATCH_CONNECTIONS} connections, each between \`callgrind_control -i on\` and \`-i off\``);
  print('(each round and each window on new connections and MCP sessions, so V8 has seen connections come and go before anything is counted;');
  print('all threads of the proxy: V8 compile jobs and GC included), one after the other with no collection forced between them; the mean of');
  print('the windows (all instructions counted ÷ all requests counted), so each major GC is spread over the requests that caused it: a window');
  print('either holds one or not, and a median would pick one of the two by chance. The main thread\'s share is shown apart: the request path');
  print('itself, without the GC and compile jobs of V8\'s helper threads. The target is on all threads.');
  print();
  const windows = new Map<string, Counted[]>();
  for (const variant of variants) {
    progress(`callgrind (${label}): ${variant.name}`);
    try {
      windows.set(variant.name, await instructionsOf(load, variant.name, variant.spec, variant.path, variant.headers));
    } catch (error) {
      print(`${variant.name}: not measured (${String(error).split('\n')[0]}).`);
      print();
    }
  }
  /** The mean over the windows (they count the same number of requests); NaN for a proxy that could not be measured. */
  const countOf = (name: string, thread: keyof Counted) => mean((windows.get(name) ?? []).map((counted) => counted[thread]));
  const ratios: Measurement[] = [];
  const rows = variants.map((variant) => {
    const [all, main] = [countOf(variant.name, 'all'), countOf(variant.name, 'main')];
    const [ratio, mainRatio] = [all / countOf('bare proxy', 'all'), main / countOf('bare proxy', 'main')];
    if (variant.mode !== undefined) ratios.push({ mode: variant.mode, value: ratio, note: `(main thread ${fixed(mainRatio)}×)` });
    const perWindow = (windows.get(variant.name) ?? []).map((counted) => fixed(counted.all / 1000, 0)).join(', ');
    return [variant.name, fixed(all / 1000, 0), perWindow, fixed(ratio), fixed(main / 1000, 0), fixed(mainRatio), variant.mode !== undefined && Number.isFinite(ratio) ? yes(ratio <= INSTRUCTIONS_TARGET) : ''];
  });
  print(table(['variant', 'k instructions / req', 'windows', '× bare', 'main thread k / req', 'main thread × bare', 'target met'], rows));
  print();
  // A mode that could not be measured (NaN) counts as not met.
  verdict(`instructions per request ≤ bare + ${Math.round((INSTRUCTIONS_TARGET - 1) * 100)} % (${label})`, ratios, (ratio) => `${fixed(ratio)}×`, (ratio) => ratio <= INSTRUCTIONS_TARGET);
}

async function sse(load: LoadGenerator, direct: Server, proxies: Array<{ name: string; server: Server; headers: Record<string, string>; path?: string }>): Promise<void> {
  const measureMs = QUICK ? 1500 : 3000;
  const rows = new Map<string, { perStreamRss: number[]; perStreamHeap: number[]; p50: number[]; p99: number[]; events: number[] }>();
  const record = (name: string) => {
    let row = rows.get(name);
    if (!row) rows.set(name, (row = { perStreamRss: [], perStreamHeap: [], p50: [], p99: [], events: [] }));
    return row;
  };
  const sseRounds = Math.max(1, Math.min(ROUNDS, 3));
  for (let round = 0; round < sseRounds; round++) {
    const targets: Array<{ name: string; url: string; headers: Record<string, string>; server?: Server }> = [
      { name: 'direct', url: direct.url, headers: {} },
      ...proxies.map((proxy) => ({ name: proxy.name, url: `${proxy.server.url}${proxy.path ?? ''}`, headers: proxy.headers, server: proxy.server })),
    ];
    if (round % 2) targets.reverse();
    for (const target of targets) {
      progress(`SSE round ${round + 1}/${sseRounds}: ${STREAMS} streams, ${target.name}`);
      await delay(300);
      const before = await target.server?.mem();
      await load.run('sseOpen', { url: target.url, headers: target.headers, streams: STREAMS });
      await delay(500);
      const during = await target.server?.mem();
      const latency = await load.run<{ events: number; p50: number; p99: number }>('sseMeasure', { ms: measureMs });
      await load.run('sseClose', {});
      const row = record(target.name);
      if (before && during) {
        row.perStreamRss.push((during.rss - before.rss) / STREAMS);
        row.perStreamHeap.push((during.heapUsed + during.external - before.heapUsed - before.external) / STREAMS);
      }
      row.p50.push(latency.p50);
      row.p99.push(latency.p99);
      row.events.push(latency.events);
    }
  }
  print(`### SSE: ${STREAMS} concurrent open streams, one event per stream every 100 ms, median of ${sseRounds} round(s)`);
  print();
  print('Target: ≤ 100 KB of proxy memory per open stream (RSS delta after GC, open vs idle, ÷ streams).');
  print();
  const directRow = rows.get('direct')!;
  const out: string[][] = [];
  for (const [name, row] of rows) {
    const perStream = median(row.perStreamRss);
    out.push([
      name,
      name === 'direct' ? '' : kb(perStream),
      name === 'direct' ? '' : kb(median(row.perStreamHeap)),
      fixed(median(row.p50)),
      fixed(median(row.p99)),
      name === 'direct' ? '' : `+${fixed(median(row.p50) - median(directRow.p50))}`,
      String(Math.round(median(row.events))),
      name.startsWith('mcp-capsule') ? yes(perStream <= 100 * 1024) : '',
    ]);
  }
  print(table(['variant', 'RSS / stream', 'heap+ext / stream', 'event p50 ms', 'event p99 ms', 'Δp50 vs direct ms', 'events', 'target met'], out));
  print();
  const capsuleStreams = [...rows].filter(([name]) => name.startsWith('mcp-capsule')).map(([name, row]) => ({ mode: name.replace('mcp-capsule ', ''), value: median(row.perStreamRss) }));
  verdict('≤ 100 KB of proxy memory per open SSE stream', capsuleStreams, kb, (perStream) => perStream <= 100 * 1024);
}

async function capsuleOpen(): Promise<void> {
  const keyBytes = new Uint8Array(32).fill(7);
  const ring = await KeyRing.create([keyBytes]);
  const codec = new CapsuleCodec(ring);
  const now = codec.nowSeconds();
  const random = (length: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(length))).toString('base64url').slice(0, length);
  const payload: AccessPayload = {
    identity: { sub: '110169484474386276334', email: 'alice.example@gmail.com', email_verified: true, name: 'Alice Example' },
    upstream: { access_token: random(220), expires_at: now + 3600 },
    cid: 'Xc2QZx0v9cJqk1T4b1s0Aw',
    scope: '',
    aud: 'https://mcp.example.com/mcp',
    gid: random(43),
    jti: random(43),
    iat: now,
    exp: now + 3600,
  };
  const sample = await codec.seal('access', payload);
  const master = await crypto.subtle.importKey('raw', keyBytes, 'HKDF', false, ['deriveKey']);
  const encode = (text: string) => new TextEncoder().encode(text);
  const derived = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: encode('mcp-capsule/v1'), info: encode('capsule:access') },
    master,
    { name: 'AES-GCM', length: 256 },
    true,
    ['decrypt'],
  );
  const aesKey = Buffer.from(await crypto.subtle.exportKey('raw', derived));
  const [header, , iv, ciphertext, tag] = sample.split('.');
  const rawOpen = () => {
    const decipher = createDecipheriv('aes-256-gcm', aesKey, Buffer.from(iv!, 'base64url'));
    decipher.setAAD(Buffer.from(header!, 'ascii'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext!, 'base64url')), decipher.final()]).toString('utf8');
  };
  if ((JSON.parse(rawOpen()) as { aud: string }).aud !== payload.aud) throw new Error('baseline decrypt disagrees with the capsule');

  const opsPerSecond = async (run: () => unknown, durationMs: number) => {
    const until = performance.now() + durationMs;
    const started = performance.now();
    let count = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 100; i++) await run();
      count += 100;
    }
    return count / ((performance.now() - started) / 1000);
  };
  const variants: Array<[string, () => unknown]> = [
    ['raw AES-GCM (baseline)', rawOpen],
    ['capsule open (jose + zod)', () => codec.open('access', sample)],
    ['capsule openAccess, cached (request path)', () => codec.openAccess(sample)],
  ];
  const results = new Map<string, number[]>();
  for (let round = 0; round < Math.max(3, ROUNDS); round++) {
    const order = round % 2 ? [...variants].reverse() : variants;
    for (const [name, run] of order) {
      const list = results.get(name) ?? [];
      list.push(await opsPerSecond(run, QUICK ? 500 : 1500));
      results.set(name, list);
    }
  }
  const baseline = median(results.get('raw AES-GCM (baseline)')!);
  print('### Capsule open (a Google-session access token, in-process, unpinned)');
  print();
  print(
    table(
      ['variant', 'ops/s', 'µs/op', '× raw AES-GCM'],
      variants.map(([name]) => {
        const ops = median(results.get(name)!);
        return [name, Math.round(ops).toString(), fixed(1e6 / ops, 1), fixed(ops / baseline)];
      }),
    ),
  );
  print();
}

async function loginFlow(publicUrl: string): Promise<void> {
  const runs: Array<Awaited<ReturnType<typeof login>>> = [];
  for (let i = 0; i < LOGINS; i++) runs.push(await login(publicUrl));
  print(`### Login flow (register → authorize → IdP login → callback → token), median of ${LOGINS}`);
  print();
  print(
    table(
      ['part', 'ms'],
      [
        ['mcp-capsule (server time: its 5 responses, callback incl. the upstream token exchange)', fixed(median(runs.map((run) => run.proxyMs)))],
        ['embedded IdP pages (oidc-provider, same process as the client)', fixed(median(runs.map((run) => run.idpMs)))],
        ['whole flow, wall clock', fixed(median(runs.map((run) => run.totalMs)))],
      ],
    ),
  );
  print();
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
}

async function startup(issuer: string, demoUrl: string): Promise<void> {
  const baselineScript = `require('node:http').createServer((q, s) => s.end('ok')).listen(${'PORT'}, '127.0.0.1', () => console.log('listening'))`;
  type Kind = 'baseline' | 'capsule' | 'uncached' | 'unbundled';
  const startOne = async (kind: Kind) => {
    const port = await freePort();
    const env = {
      ...process.env,
      CAPSULE_KEYS: KEY,
      CAPSULE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      HOST: '127.0.0.1',
      PORT: String(port),
      CAPSULE_UPSTREAM_ISSUER: issuer,
      CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
      CAPSULE_UPSTREAM_CLIENT_SECRET: 'proxy-upstream-secret',
      CAPSULE_MCP_URL: demoUrl,
      CAPSULE_DOWNSTREAM_AUTH: 'upstream-token',
    };
    const args =
      kind === 'capsule'
        ? [join(build, 'bundle/cli.js'), 'serve']
        : kind === 'uncached'
          ? [join(build, 'bundle-without-cache/cli.js'), 'serve']
          : kind === 'unbundled'
            ? [join(build, 'src/cli.js'), 'serve']
            : ['-e', baselineScript.replace('PORT', String(port))];
    const started = performance.now();
    const proc = spawnPinned(SERVER_CORE, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let ready: number | undefined;
    let stdout = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (ready === undefined && stdout.includes('upstream provider ready')) ready = performance.now() - started;
    });
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    let listening: number | undefined;
    while (listening === undefined) {
      if (proc.exitCode !== null) throw new Error(`${kind} exited: ${stderr}`);
      if (await accepts(port)) listening = performance.now() - started;
      else await delay(1);
    }
    const cpu = cpuMs(proc.pid!);
    await delay(1000);
    const rss = rssOf(proc.pid!);
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('exit', resolve));
    return { listening, ready, rss, cpu };
  };
  type Run = Awaited<ReturnType<typeof startOne>>;
  const kinds: Kind[] = ['baseline', 'capsule', 'uncached', 'unbundled'];
  const results: Record<Kind, Run[]> = { baseline: [], capsule: [], uncached: [], unbundled: [] };
  for (let round = 0; round < STARTS; round++) {
    const order = round % 2 ? [...kinds].reverse() : kinds;
    for (const kind of order) {
      progress(`start-up ${round + 1}/${STARTS}: ${kind}`);
      results[kind].push(await startOne(kind));
    }
  }
  const listening = median(results.capsule.map((run) => run.listening));
  const baseListening = median(results.baseline.map((run) => run.listening));
  print(`### Start-up and idle memory, median of ${STARTS} starts (pinned to one core)`);
  print();
  print(`Target: listening within ${STARTUP_TARGET}× the time of the node:http hello world (upstream discovery may finish after).`);
  print();
  print(
    table(
      ['variant', 'listening ms', '× hello', 'CPU ms until listening', 'discovery done ms', 'idle RSS', 'target met'],
      [
        ['node:http hello (baseline)', fixed(baseListening, 0), '1.00', fixed(median(results.baseline.map((run) => run.cpu)), 0), '', mb(median(results.baseline.map((run) => run.rss))), ''],
        ...(
          [
            ['capsule', 'mcp-capsule (node dist/cli.js serve: the shipped bundle)'],
            ['uncached', 'mcp-capsule (the same bundle without its code cache)'],
            ['unbundled', 'mcp-capsule (tsc output, unbundled)'],
          ] as const
        ).map(([kind, label]) => {
          const runs = results[kind];
          const kindListening = median(runs.map((run) => run.listening));
          return [
            label,
            fixed(kindListening, 0),
            fixed(kindListening / baseListening),
            fixed(median(runs.map((run) => run.cpu)), 0),
            fixed(median(runs.map((run) => run.ready ?? NaN)), 0),
            mb(median(runs.map((run) => run.rss))),
            kind === 'capsule' ? yes(kindListening <= STARTUP_TARGET * baseListening) : '',
          ];
        }),
      ],
    ),
  );
  verdict(
    `listening ≤ ${STARTUP_TARGET}× a node:http hello world`,
    [{ mode: '', value: listening / baseListening }],
    (ratio) => `${fixed(ratio)}× (${fixed(listening, 0)} ms vs ${fixed(baseListening, 0)} ms)`,
    (ratio) => ratio <= STARTUP_TARGET,
  );
  print(`\nmcp-capsule is listening ${fixed(listening - baseListening, 0)} ms after a bare node:http server would be.`);
  print(`Without its code cache the bundle is listening ${fixed(median(results.uncached.map((run) => run.listening)) - listening, 0)} ms later.`);
  print(`The unbundled tsc output is listening ${fixed(median(results.unbundled.map((run) => run.listening)) - listening, 0)} ms after the bundle.`);
  print();
}

// --- main ---

await compile();
/** Every credential mode a route can have (src/config/routes.ts); --modes picks some. */
const ALL_MODES = ['upstream-token', 'identity-headers', 'api-key', 'client-credentials', 'pat', 'none'] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES: Mode[] = flags.modes === undefined ? [...ALL_MODES] : flags.modes.split(',').map((mode) => {
  if (!(ALL_MODES as readonly string[]).includes(mode)) throw new Error(`--modes: ${mode} is none of ${ALL_MODES.join(', ')}`);
  return mode as Mode;
});
type Downstream = 'sdk' | 'trivial';
const DOWNSTREAM_LABELS: Record<Downstream, string> = { sdk: 'the SDK demo server', trivial: 'a trivial downstream' };
/** --downstreams sdk,trivial; --quick measures the trivial one only, which is what the targets are about. */
const DOWNSTREAMS = (flags.downstreams ?? (QUICK ? 'trivial' : 'sdk,trivial')).split(',').map((key) => {
  if (!(key in DOWNSTREAM_LABELS)) throw new Error(`--downstreams: ${key} is none of ${Object.keys(DOWNSTREAM_LABELS).join(', ')}`);
  return { key: key as Downstream, label: DOWNSTREAM_LABELS[key as Downstream] };
});
/** One port (and so one public URL and one login) per proxy. */
const portOf = new Map<string, number>();
for (const downstream of DOWNSTREAMS) {
  for (const mode of MODES) portOf.set(`${mode}@${downstream.key}`, await freePort());
  portOf.set(`bun@${downstream.key}`, await freePort());
}
portOf.set('sse', await freePort());
const publicUrl = (port: number) => `http://127.0.0.1:${port}`;
// The embedded IdP is both the upstream every proxy signs in with and the token endpoint of client-credentials routes.
const idp = await startEmbeddedIdp({
  clients: [
    { client_id: 'proxy', client_secret: 'proxy-upstream-secret', redirect_uris: [...portOf.values()].map((port) => `${publicUrl(port)}/oauth/callback`) },
    { client_id: 'cc-basic', client_secret: CC_SECRET, redirect_uris: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' },
  ],
});
function routeFor(mode: Mode, url: string): Record<string, unknown> {
  switch (mode) {
    case 'client-credentials':
      return { url, auth: mode, tokenUrl: `${idp.issuer}/token`, clientId: 'cc-basic', clientSecret: CC_SECRET };
    case 'api-key':
      return { url, auth: mode, apiKey: API_KEY };
    default:
      return { url, auth: mode };
  }
}
/** The proxy's settings as a CAPSULE_CONFIG file, as a deployment would give them. `listen` may differ from the public URL's port. */
const configFile = (name: string, publicPort: number, url: string, mode: Mode, listen = publicPort) => {
  const file = join(build, 'config', `${name.replace(/\W+/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...proxyInput(publicPort, idp.issuer, [routeFor(mode, url)]), port: listen }));
  return file;
};
const bundleSpec = (name: string, publicPort: number, url: string, mode: Mode, listen = publicPort): ChildSpec => ({
  kind: 'capsule-bundle',
  bundle: join(build, 'bundle/cli.js'),
  configFile: configFile(name, publicPort, url, mode, listen),
  port: listen,
});
/**
 * The settings every proxy here runs with, as the proxy parses them: the bench sets no logging
 * option, so this is what it ships with; the header states it.
 */
const shipped = parseConfig(proxyInput(0, idp.issuer, [routeFor('upstream-token', 'http://127.0.0.1:1/mcp')]));
/** What an MCP client sends on a route of this mode: the proxy's token where the route signs in, its own token for pat, nothing for none. */
const signsIn = (mode: Mode) => routeSignsIn(parseConfig(proxyInput(0, idp.issuer, [routeFor(mode, 'http://127.0.0.1:1/mcp')])).routes[0]!);
const clientHeaders = async (mode: Mode, port: number): Promise<Record<string, string>> => {
  if (signsIn(mode)) return { authorization: `Bearer ${(await login(publicUrl(port))).token}` };
  return mode === 'pat' ? { authorization: `Bearer ${PAT}` } : {};
};

const servers: Server[] = [];
let load: LoadGenerator | undefined;
const started = async (server: Promise<Server>) => {
  const ready = await server;
  servers.push(ready);
  return ready;
};
try {
  progress('starting servers');
  const downstreams = new Map<Downstream, Server>();
  const bare = new Map<Downstream, Server>();
  for (const { key } of DOWNSTREAMS) {
    const downstream = await started(Server.start(key === 'sdk' ? 'demo' : 'trivial', { kind: key === 'sdk' ? 'demo' : 'trivial' }));
    downstreams.set(key, downstream);
    bare.set(key, await started(Server.start(`bare-${key}`, { kind: 'bare', target: downstream.url })));
  }
  const capsules = new Map<string, Server>();
  let bunProblem: string | undefined;
  for (const downstream of DOWNSTREAMS) {
    const target = downstreams.get(downstream.key)!.url;
    for (const mode of MODES) {
      const name = `${mode}@${downstream.key}`;
      capsules.set(name, await started(Server.start(name, bundleSpec(name, portOf.get(name)!, target, mode))));
    }
    if (HAS_BUN) {
      const name = `bun@${downstream.key}`;
      const port = portOf.get(name)!;
      const env = { ...process.env, CAPSULE_CONFIG: configFile(name, port, target, 'upstream-token') };
      try {
        capsules.set(name, await started(Server.plain(name, BUN, ['--no-env-file', join(build, 'src/runtime/bun.js')], env, port, publicUrl(port))));
      } catch (error) {
        bunProblem ??= String(error).split('\n')[0];
      }
    }
  }
  const sseWanted = ONLY.has('sse');
  const sseServer = sseWanted ? await started(Server.start('sse', { kind: 'sse', intervalMs: 100 })) : undefined;
  const bareSse = sseServer ? await started(Server.start('bare-sse', { kind: 'bare', target: sseServer.url })) : undefined;
  const capsuleSse = sseServer ? await started(Server.start('sse proxy', bundleSpec('sse', portOf.get('sse')!, sseServer.url, 'upstream-token'))) : undefined;

  progress('signing in to each proxy');
  const headersOf = new Map<string, Record<string, string>>();
  for (const downstream of DOWNSTREAMS) {
    for (const mode of MODES) headersOf.set(`${mode}@${downstream.key}`, await clientHeaders(mode, portOf.get(`${mode}@${downstream.key}`)!));
    if (capsules.has(`bun@${downstream.key}`)) headersOf.set(`bun@${downstream.key}`, await clientHeaders('upstream-token', portOf.get(`bun@${downstream.key}`)!));
  }
  load = await LoadGenerator.start();

  print(`## mcp-capsule benchmarks${QUICK ? ' (--quick: a smoke run, not for comparison)' : ''}`);
  print();
  print(`Load average when starting: ${loadavg().map((value) => value.toFixed(2)).join(', ')} (other work on the machine inflates wall-clock numbers, not CPU times).`);
  print();
  print(`Node ${process.version}, ${CORES} cores; ${PIN ? 'servers pinned to core 0, load generator to core 1 (taskset)' : 'no pinning (taskset or a second core missing)'}.`);
  print(
    `mcp-capsule runs as shipped: the esbuild bundle (\`node dist/cli.js serve\`) with the default logging, as it parses its configuration: ` +
      `logLevel \`${shipped.logLevel}\` (an access log line per request), auditLog \`${shipped.auditLog}\` (both to /dev/null here). Credential modes: ${MODES.join(', ')}.`,
  );
  const onBun = (downstream: Downstream) => capsules.get(`bun@${downstream}`);
  print(
    !HAS_BUN
      ? 'Bun: not measured (node_modules/.bin/bun is missing).'
      : bunProblem !== undefined
        ? `Bun: not measured (it did not start: ${bunProblem}).`
        : `On Bun (${execFileSync(BUN, ['--version']).toString().trim()}): src/runtime/bun.ts as compiled by tsc, upstream-token mode.`,
  );
  print();

  const signedInMode = MODES.find(signsIn);
  const variantsOf = (downstream: Downstream): Variant[] => [
    { name: 'direct', url: downstreams.get(downstream)!.url, headers: {} },
    { name: 'bare proxy', url: bare.get(downstream)!.url, headers: {}, proxy: bare.get(downstream)! },
    ...MODES.map((mode) => {
      const proxy = capsules.get(`${mode}@${downstream}`)!;
      return { name: `mcp-capsule ${mode}`, url: `${proxy.url}/mcp`, headers: headersOf.get(`${mode}@${downstream}`)!, mode, proxy };
    }),
    // A signed-in client's request carries the proxy's access token (about a kilobyte), which the client writes and
    // every hop parses: the same request through the bare proxy shows how much of a signing-in mode's Δp50 that is.
    ...(signedInMode !== undefined
      ? [{ name: 'bare proxy, a signed-in request', url: bare.get(downstream)!.url, headers: headersOf.get(`${signedInMode}@${downstream}`)!, proxy: bare.get(downstream)!, reference: true as const }]
      : []),
    ...(onBun(downstream)
      ? // Reported beside the others; the targets compare Node with Node.
        [{ name: 'mcp-capsule upstream-token on Bun', url: `${onBun(downstream)!.url}/mcp`, headers: headersOf.get(`bun@${downstream}`)!, proxy: onBun(downstream)! }]
      : []),
  ];
  for (const downstream of DOWNSTREAMS) {
    const variants = variantsOf(downstream.key);
    if (ONLY.has('calls')) await throughput(load, downstreams.get(downstream.key)!, downstream.label, variants);
    if (ONLY.has('cpu')) await cpuPerRequest(load, downstream.label, variants[1]!, variants.slice(2).filter((variant) => !variant.reference));
  }
  const trivial = downstreams.get('trivial');
  if (ONLY.has('instructions') && trivial) {
    // A proxy under callgrind serves a few dozen requests a second: --quick counts one mode, unless --modes names others.
    const counted = QUICK && flags.modes === undefined ? MODES.slice(0, 1) : MODES;
    // A second instance of each proxy under callgrind, listening elsewhere but with the same public URL, so tokens signed in through the first instance hold.
    const listenPorts = await Promise.all(counted.map(() => freePort()));
    // Signed in again: an access token lasts an hour, and a full run reaches this phase some 40 minutes in.
    for (const mode of counted) headersOf.set(`${mode}@trivial`, await clientHeaders(mode, portOf.get(`${mode}@trivial`)!));
    await instructions(load, DOWNSTREAM_LABELS.trivial, [
      { name: 'bare proxy', spec: { kind: 'bare', target: trivial.url }, path: new URL(trivial.url).pathname, headers: {} },
      ...counted.map((mode, i) => {
        const name = `${mode}@trivial`;
        return { name: `mcp-capsule ${mode}`, spec: bundleSpec(`${name}-callgrind`, portOf.get(name)!, trivial.url, mode, listenPorts[i]), path: '/mcp', headers: headersOf.get(name)!, mode };
      }),
    ]);
  }
  if (sseServer && bareSse && capsuleSse) {
    // Signed in only now, for the same reason: a full run reaches this phase after more than an hour.
    progress('signing in to the SSE proxy');
    const signedIn = await clientHeaders('upstream-token', portOf.get('sse')!);
    await sse(load, sseServer, [
      { name: 'bare proxy', server: bareSse, headers: {} },
      { name: 'mcp-capsule upstream-token', server: capsuleSse, headers: signedIn, path: '/mcp' },
    ]);
  }
  if (ONLY.has('capsule')) await capsuleOpen();
  if (ONLY.has('login') && signedInMode) await loginFlow(publicUrl(portOf.get(`${signedInMode}@${DOWNSTREAMS[0]!.key}`)!));
  if (ONLY.has('startup')) await startup(idp.issuer, downstreams.get(DOWNSTREAMS[0]!.key)!.url);

  if (verdicts.length > 0) {
    print('### Against the targets');
    print();
    print(
      table(
        ['target', 'measured', 'met'],
        verdicts.map(({ target, measured, met, missedBy }) => [target, measured, met ? 'met' : `**not met**${missedBy.length > 0 ? ` (${missedBy.join(', ')})` : ''}`]),
      ),
    );
    print();
    print('Soak (flat memory over time) is its own run: `npm run bench:soak`.');
    print();
  }
  print(`Load average when done: ${loadavg().map((value) => value.toFixed(2)).join(', ')}.`);
  mkdirSync(build, { recursive: true });
  writeFileSync(join(build, 'results.md'), `${output.join('\n')}\n`);
  progress(`tables also written to ${join(build, 'results.md')}`);
} finally {
  load?.stop();
  await Promise.all(servers.map((server) => server.stop()));
  await idp.close();
}
process.exit(0);
