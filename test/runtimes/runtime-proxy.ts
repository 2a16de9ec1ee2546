import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startDemoMcpServer, type DemoMcpServer } from '../../src/dev/demo-mcp-server.js';
import { startEmbeddedIdp, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
import { TEST_KEY_A } from '../support/deps.js';
import { freePort } from '../support/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How to run the proxy's entry point under another runtime, with the binaries of the `bun` and `deno` npm packages. */
export interface Runtime {
  readonly name: 'Bun' | 'Deno';
  readonly binary: string;
  /** The runtime's flags, before the script it runs. */
  readonly flags: readonly string[];
  /** The proxy's entry point. */
  readonly entry: string;
  /** Extra environment the runtime itself needs (not proxy settings). */
  readonly env: Readonly<Record<string, string>>;
  /** Whether URL client_ids (client ID metadata documents) work: off on Bun, whose built-in undici cannot pin the fetch. */
  readonly metadataDocuments: boolean;
}

/** `bun --no-install --no-env-file src/runtime/bun.ts`: Bun runs the TypeScript source as is. */
export const BUN: Runtime = {
  name: 'Bun',
  binary: `${ROOT}node_modules/bun/bin/bun.exe`,
  flags: ['--no-install', '--no-env-file'],
  entry: 'src/runtime/bun.ts',
  env: {},
  metadataDocuments: false,
};

/**
 * `deno run` with network and environment access only, npm packages from the existing
 * node_modules (never downloaded), sloppy imports so `./x.js` finds the TypeScript source,
 * and request.signal aborting only when the client leaves (as on Node and Bun; Deno's legacy
 * behaviour also aborts it after every successful response, and warns about it on stderr).
 */
export const DENO: Runtime = {
  name: 'Deno',
  binary: `${ROOT}node_modules/deno/deno`,
  flags: ['run', '--node-modules-dir=manual', '--cached-only', '--sloppy-imports', '--unstable-no-legacy-abort', '--allow-net', '--allow-env'],
  entry: 'src/runtime/deno.ts',
  env: { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  metadataDocuments: true,
};

/** Fails with what to do when the runtime's binary is missing or does not run (a skipped postinstall, say). */
export function assertRuntimeInstalled(runtime: Runtime): string {
  const hint = `run "npm ci" (package.json's allowScripts lets the ${runtime.name.toLowerCase()} package's postinstall put the native binary in place)`;
  if (!existsSync(runtime.binary)) throw new Error(`${runtime.name} is not installed at ${runtime.binary}: ${hint}`);
  const probe = spawnSync(runtime.binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) {
    throw new Error(`${runtime.name} at ${runtime.binary} does not run (${probe.error?.message ?? `exit ${probe.status}: ${probe.stderr.trim()}`}): ${hint}`);
  }
  return probe.stdout.trim().split('\n')[0]!;
}

/** A script of the project under the runtime, from the project's root, with exactly these settings (plus PATH and HOME) and its output piped. */
function spawnUnder(runtime: Runtime, script: string, settings: Record<string, string>) {
  return spawn(runtime.binary, [...runtime.flags, script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...runtime.env, ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs one script of the project under the runtime, with the proxy's flags, and gives what it printed; fails on any other exit. */
export async function runScript(runtime: Runtime, script: string): Promise<string> {
  const child = spawnUnder(runtime, script, {});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${runtime.name} ${script}: exit ${code}\n${stderr}`);
  return stdout;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** From the signal to the process's exit. */
  readonly afterMs: number;
}

/** The proxy in a child process under another runtime, its output kept for assertions. */
export class RuntimeProxy {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Omit<Exit, 'afterMs'>>;

  private constructor(
    readonly runtime: Runtime,
    private readonly child: ChildProcess,
    readonly publicUrl: string,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  }

  get mcpUrl(): string {
    return `${this.publicUrl}/mcp`;
  }

  /** Log lines (JSON) the proxy wrote to stdout. */
  get logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Log lines once `count` of them match (or once the process has ended): lines are written at the end of an event-loop turn, so one may trail the response it belongs to. */
  logLinesWhen(matches: (line: Record<string, unknown>) => boolean, count = 1): Promise<Array<Record<string, unknown>>> {
    return new Promise((resolve) => {
      let closed = false;
      const check = () => {
        const found = this.logLines.filter(matches);
        if (found.length < count && !closed) return;
        this.child.stdout!.off('data', check);
        resolve(found);
      };
      this.child.stdout!.on('data', check);
      void this.exited.then(() => {
        closed = true;
        check();
      });
      check();
    });
  }

  /** Starts the proxy with exactly these settings (plus PATH and HOME) and waits until it says it listens. */
  static async start(runtime: Runtime, settings: Record<string, string>, publicUrl: string): Promise<RuntimeProxy> {
    const child = spawnUnder(runtime, runtime.entry, settings);
    const proxy = new RuntimeProxy(runtime, child, publicUrl);
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${runtime.name}: the proxy did not start within 15 s\n${proxy.stderr}${proxy.stdout}`));
      }, 15_000);
      const check = () => {
        if (proxy.stdout.includes('"msg":"mcp-capsule listening"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${runtime.name}: cannot start ${runtime.binary}: ${error.message}`));
      });
      void proxy.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${runtime.name}: the proxy exited while starting (code ${code}, signal ${signal})\n${proxy.stderr}${proxy.stdout}`));
      });
    });
    proxy.startupMs = performance.now() - started;
    return proxy;
  }

  startupMs = 0;

  /** Sends a signal and waits for the process to end, however long that takes: the test's own timeout bounds it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    const sent = performance.now();
    this.kill(signal);
    const exit = await this.exited;
    return { ...exit, afterMs: performance.now() - sent };
  }

  /** Signals the process unless it has ended already. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** The upstream and downstream every runtime suite uses: node oidc-provider and the SDK demo MCP server, in the test process. */
export class Backends {
  private constructor(
    readonly idp: EmbeddedIdp,
    readonly demo: DemoMcpServer,
    readonly port: number,
  ) {}

  get publicUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<Backends> {
    const port = await freePort();
    const idp = await startEmbeddedIdp({
      clients: [{ client_id: 'proxy', client_secret: 'proxy-upstream-secret', redirect_uris: [`http://127.0.0.1:${port}/oauth/callback`] }],
    });
    const demo = await startDemoMcpServer();
    return new Backends(idp, demo, port);
  }

  /** The settings of `mcp-capsule serve`, as environment variables (the same as the Node integration stack's). */
  settings(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      CAPSULE_KEYS: TEST_KEY_A,
      CAPSULE_PUBLIC_URL: this.publicUrl,
      PORT: String(this.port),
      CAPSULE_UPSTREAM_ISSUER: this.idp.issuer,
      CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
      CAPSULE_UPSTREAM_CLIENT_SECRET: 'proxy-upstream-secret',
      CAPSULE_UPSTREAM_SCOPES: 'openid email profile offline_access',
      CAPSULE_MCP_URL: this.demo.url,
      CAPSULE_DOWNSTREAM_TIMEOUT: '2',
      CAPSULE_REGISTRATION_RATE_LIMIT: '10000',
      ...overrides,
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.idp.close(), this.demo.close()]);
  }
}

/** Client ID metadata documents on loopback (the proxy runs with CAPSULE_CIMD_ALLOW_PRIVATE_NETWORK). */
export async function serveDocuments(): Promise<{ base: string; bodies: Map<string, unknown>; served: string[]; close(): Promise<void> }> {
  const bodies = new Map<string, unknown>();
  const served: string[] = [];
  const server = createServer((req, res) => {
    served.push(req.url ?? '');
    const body = bodies.get(req.url ?? '');
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    served,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
