import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, KEEP_NAMES_PACKAGES } from '../../scripts/bundle-cli.mjs';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { freePort } from '../support/ports.js';

/**
 * The CLI as it ships: the esbuild bundles and the code cache (scripts/bundle-cli.mjs).
 * It is written outside the project, where no node_modules can be found, so everything
 * these commands load must be inside the bundle.
 */
const outdir = mkdtempSync(join(tmpdir(), 'mcp-capsule-bundle-'));
const cli = join(outdir, 'cli.js');
/** The code cache the build writes, named after the V8 that made it (this one: the build ran this node). */
const CODE_CACHE = `mcp-capsule.cjs.v8-${process.versions.v8}.cache`;
/** PATH with this node first, for the `#!/usr/bin/env node` line. */
const PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function finished(child: ChildProcess, output: { stdout: string; stderr: string }, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, ...output });
    });
  });
}

function collect(child: ChildProcess): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => void (output.stdout += chunk));
  child.stderr!.on('data', (chunk) => void (output.stderr += chunk));
  return output;
}

function run(command: string, args: string[]): Promise<Run> {
  const child = spawn(command, args, { cwd: outdir, env: { PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  return finished(child, collect(child));
}

/** The main bundle and the lazily loaded ones, each with its linked source map. */
function bundleFiles(): string[] {
  return [join(outdir, 'mcp-capsule.cjs'), ...readdirSync(join(outdir, 'lazy')).filter((name) => name.endsWith('.cjs')).map((name) => join(outdir, 'lazy', name))];
}

/** Every `__name(…)` call esbuild's keepNames put in the bundles, by the source file it came from (through the linked source maps). */
function keepNamesCallsBySource(): { calls: Map<string, number>; sources: Set<string> } {
  const calls = new Map<string, number>();
  const sources = new Set<string>();
  for (const file of bundleFiles()) {
    const payload = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload;
    for (const source of payload.sources) sources.add(source);
    const map = new SourceMap(payload);
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, lineNumber) => {
        for (const call of line.matchAll(/\b__name\d*\(/g)) {
          const source = (map.findEntry(lineNumber, call.index) as { originalSource?: string }).originalSource ?? `${file} (unmapped)`;
          calls.set(source, (calls.get(source) ?? 0) + 1);
        }
      });
  }
  return { calls, sources };
}

beforeAll(async () => {
  await bundleCli({ outdir });
}, 120_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('the bundled command line', () => {
  it('is one executable entry file with a shebang, the bundle and its code cache beside it, and the lazily loaded bundles', () => {
    expect(readFileSync(cli, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
    expect(statSync(cli).mode & 0o111).toBe(0o111);
    expect(readdirSync(outdir).filter((name) => /\.c?js$/.test(name)).sort()).toEqual(['cli.js', 'mcp-capsule.cjs']);
    expect(statSync(join(outdir, CODE_CACHE)).size).toBeGreaterThan(100_000);
    expect(readdirSync(join(outdir, 'lazy')).filter((name) => name.endsWith('.cjs')).sort()).toEqual(['development.cjs', 'redis-replay-store.cjs', 'undici-pools.cjs']);
    // No inline source map: a linked .map file at most.
    for (const file of bundleFiles()) expect(readFileSync(file, 'utf8')).not.toContain('sourceMappingURL=data:');
  });

  it('loads the development setup, Redis support and undici only when used, each from a file of its own', () => {
    const main = readFileSync(join(outdir, 'mcp-capsule.cjs'), 'utf8');
    const lazy = (name: string) => readFileSync(join(outdir, 'lazy', `${name}.cjs`), 'utf8');
    // The packages behind them keep their paths as keys in the bundles: none is in the main one.
    for (const [name, pkg] of [
      ['development', 'oidc-provider'],
      ['development', '@modelcontextprotocol/sdk'],
      ['redis-replay-store', 'ioredis'],
      ['undici-pools', 'undici'],
    ] as const) {
      expect(lazy(name), name).toContain(`node_modules/${pkg}/`);
      expect(main, pkg).not.toContain(`node_modules/${pkg}/`);
    }
    // What the main bundle has of each: a require of its file, made where the source imports it dynamically.
    for (const name of ['development', 'redis-replay-store', 'undici-pools']) {
      expect(main).toContain(`require(require("node:path").join(__dirname,"lazy","${name}.cjs"))`);
    }
  });

  it('carries only the parts of undici and zod the proxy uses', () => {
    // The pooled clients, not the package index with fetch, WebSocket and mocks.
    const undiciText = readFileSync(join(outdir, 'lazy', 'undici-pools.cjs'), 'utf8');
    expect(undiciText).toContain('node_modules/undici/lib/dispatcher/pool.js');
    expect(undiciText).toContain('node_modules/undici/lib/dispatcher/agent.js');
    expect(undiciText).not.toContain('node_modules/undici/index.js');
    for (const unused of ['lib/web/fetch/index.js', 'lib/web/websocket/', 'lib/mock/', 'lib/cache/', 'lib/interceptor/']) {
      expect(undiciText).not.toContain(`node_modules/undici/${unused}`);
    }
    // zod: English messages only, not its 50 locales.
    const main = readFileSync(join(outdir, 'mcp-capsule.cjs'), 'utf8');
    expect(main).toContain('Invalid input');
    expect(main).not.toContain('Ongeldige invoer'); // the Dutch locale's message
  });

  it('compiles from the code cache the build wrote, and without it when the cache does not match', async () => {
    const accepted = await run(process.execPath, [cli, 'keygen']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toBe('');
    // A copy whose cache is another file's bytes: V8 refuses it, the command still works, and says so.
    const copy = mkdtempSync(join(tmpdir(), 'mcp-capsule-bundle-copy-'));
    try {
      cpSync(outdir, copy, { recursive: true });
      writeFileSync(join(copy, CODE_CACHE), readFileSync(join(outdir, 'mcp-capsule.cjs.map')).subarray(0, 200_000));
      const refused = await run(process.execPath, [join(copy, 'cli.js'), 'keygen']);
      expect(refused.code, refused.stderr).toBe(0);
      expect(refused.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(refused.stderr).toContain(`mcp-capsule: V8 refused ${join(copy, CODE_CACHE)}`);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('keeps class names only in the packages that read them, never on the request path', () => {
    const { calls, sources } = keepNamesCallsBySource();
    const packageOf = (source: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1];
    // The request path is in the bundle, mapped: the check below is not vacuous.
    for (const file of ['src/pipeline/route-pipeline.ts', 'src/pipeline/node-exchange.ts', 'src/proxy/', 'node_modules/undici/']) {
      expect([...sources].some((source) => source.includes(file)), file).toBe(true);
    }
    const outside = [...calls.keys()].filter((source) => !KEEP_NAMES_PACKAGES.includes(packageOf(source) ?? ''));
    expect(outside).toEqual([]);
    // jose names its errors after their class: its classes still carry their names.
    expect([...calls.keys()].some((source) => packageOf(source) === 'jose')).toBe(true);
  });

  it('keygen prints a 32-byte base64url key, run by node and through the shebang', async () => {
    for (const result of [await run(process.execPath, [cli, 'keygen']), await run(cli, ['keygen'])]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(result.stdout.trim(), 'base64url')).toHaveLength(32);
    }
  });

  describe('serve with no configuration (the development setup, from its lazily loaded bundle)', () => {
    let child: ChildProcess;
    let output: { stdout: string; stderr: string };
    let exited: Promise<Run>;
    let mcpUrl: string;
    let origin: string;

    beforeAll(async () => {
      const port = await freePort();
      child = spawn(process.execPath, [cli, 'serve'], { cwd: outdir, env: { PATH, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
      output = collect(child);
      exited = finished(child, output, 110_000);
      const connectLine = /Connect your MCP client to:\s+(\S+)/;
      mcpUrl = await new Promise<string>((resolve, reject) => {
        const check = () => {
          const match = connectLine.exec(output.stderr);
          if (match) resolve(match[1]!);
        };
        child.stderr!.on('data', check);
        void exited.then((result) => reject(new Error(`serve exited before it was ready: ${JSON.stringify(result).slice(-1000)}`)));
      });
      origin = new URL(mcpUrl).origin;
      expect(mcpUrl).toBe(`http://localhost:${port}/mcp`);
    }, 90_000);

    afterAll(() => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    it('publishes authorization server metadata', async () => {
      const response = await fetch(`${origin}/.well-known/oauth-authorization-server`);
      expect(response.status).toBe(200);
      const metadata = (await response.json()) as { issuer?: string; token_endpoint?: string };
      expect(metadata.issuer).toBe(origin);
      expect(metadata.token_endpoint).toMatch(new RegExp(`^${origin}/`));
    });

    it('answers /mcp without a token with 401 and where to find the resource metadata', async () => {
      const response = await fetch(mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/resource_metadata="[^"]+"/);
    });

    it('lets the MCP SDK client sign in at the embedded identity provider and call a tool', async () => {
      const provider = new TestOAuthProvider({ login: 'bundle-user' });
      const { client } = await connectWithOAuth(mcpUrl, provider);
      try {
        expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'through the bundle' } }))).toBe('through the bundle');
      } finally {
        await client.close();
      }
    }, 90_000);

    it('stops cleanly on SIGTERM', async () => {
      child.kill('SIGTERM');
      const result = await exited;
      const context = JSON.stringify({ code: result.code, signal: result.signal, stderr: result.stderr.slice(-500) });
      expect(result.stdout, context).toContain('"msg":"shutting down"');
      expect(result.signal, context).toBeNull();
      expect(result.code, context).toBe(0);
    }, 60_000);
  });
});
