import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, KEEP_NAMES_PACKAGES } from '../../scripts/bundle-cli.mjs';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { freePort } from '../support/ports.js';

/**
 * The CLI as it ships: the esbuild bundle with code splitting (scripts/bundle-cli.mjs).
 * It is written outside the project, where no node_modules can be found, so everything
 * these commands load must be inside the bundle.
 */
const outdir = mkdtempSync(join(tmpdir(), 'mcp-capsule-bundle-'));
const cli = join(outdir, 'cli.js');
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

/** Static imports (`import … from "./x.js"`, `import "./x.js"`) and dynamic `import("./x.js")` of one output file. */
function importsOf(file: string): { static: string[]; dynamic: string[] } {
  const text = readFileSync(file, 'utf8');
  const resolve = (specifier: string) => join(dirname(file), specifier);
  return {
    static: [...text.matchAll(/(?:\bfrom|\bimport)\s*"(\.\.?\/[^"]+)"/g)].map((match) => resolve(match[1]!)),
    dynamic: [...text.matchAll(/\bimport\("(\.\.?\/[^"]+)"\)/g)].map((match) => resolve(match[1]!)),
  };
}

/** Every file Node reads before the entry's first line runs. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const next of importsOf(file).static) visit(next);
  };
  visit(entry);
  return seen;
}

/** Every `__name(…)` call esbuild's keepNames put in the chunks, by the source file it came from (through the linked source maps). */
function keepNamesCallsBySource(): { calls: Map<string, number>; sources: Set<string> } {
  const calls = new Map<string, number>();
  const sources = new Set<string>();
  for (const name of readdirSync(join(outdir, 'chunks')).filter((file) => file.endsWith('.js'))) {
    const payload = JSON.parse(readFileSync(join(outdir, 'chunks', `${name}.map`), 'utf8')) as SourceMapPayload;
    for (const source of payload.sources) sources.add(source);
    const map = new SourceMap(payload);
    readFileSync(join(outdir, 'chunks', name), 'utf8')
      .split('\n')
      .forEach((line, lineNumber) => {
        for (const call of line.matchAll(/\b__name\d*\(/g)) {
          const source = (map.findEntry(lineNumber, call.index) as { originalSource?: string }).originalSource ?? `${name} (unmapped)`;
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
  it('is one executable entry file with a shebang, and chunks beside it', () => {
    expect(readFileSync(cli, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
    expect(statSync(cli).mode & 0o111).toBe(0o111);
    expect(readdirSync(outdir).filter((name) => name.endsWith('.js'))).toEqual(['cli.js']);
    const chunks = readdirSync(join(outdir, 'chunks')).filter((name) => name.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(3);
    // No inline source map: a linked .map file at most.
    for (const name of ['cli.js', ...chunks.map((chunk) => `chunks/${chunk}`)]) {
      expect(readFileSync(join(outdir, name), 'utf8')).not.toContain('sourceMappingURL=data:');
    }
  });

  it('loads the development setup and Redis support only when used', () => {
    const loaded = staticClosure(cli);
    const loadedText = [...loaded].map((file) => readFileSync(file, 'utf8')).join('\n');
    const chunk = (prefix: string) => {
      const name = readdirSync(join(outdir, 'chunks')).find((file) => file.startsWith(`${prefix}-`) && file.endsWith('.js'));
      expect(name, `a chunk for ${prefix}`).toBeDefined();
      return join(outdir, 'chunks', name!);
    };
    const lazy = ['demo-environment', 'embedded-idp', 'demo-mcp-server', 'redis-replay-store'].map(chunk);
    for (const file of lazy) expect(loaded).not.toContain(file);
    // The CommonJS packages behind them keep their paths as keys in the bundle: ioredis is only in its chunk.
    expect(readFileSync(chunk('redis-replay-store'), 'utf8')).toContain('node_modules/ioredis/');
    expect(loadedText).not.toContain('node_modules/ioredis/');
    const allDynamic = [...loaded, ...lazy].flatMap((file) => importsOf(file).dynamic);
    for (const file of lazy) expect(allDynamic).toContain(file);
    // A handful of files, not hundreds of modules.
    expect(loaded.size).toBeLessThan(15);
  });

  it('carries only the parts of undici and zod the proxy uses, and reads undici only on first use', () => {
    // What `serve` loads in production: the entry and, once configured, the Node runtime's chunk.
    const chunkNamed = (prefix: string) => {
      const name = readdirSync(join(outdir, 'chunks')).find((file) => file.startsWith(`${prefix}-`) && file.endsWith('.js'));
      expect(name, `a chunk for ${prefix}`).toBeDefined();
      return join(outdir, 'chunks', name!);
    };
    const runtime = chunkNamed('node');
    const loaded = new Set([...staticClosure(cli), ...staticClosure(runtime)]);
    const loadedText = [...loaded].map((file) => readFileSync(file, 'utf8')).join('\n');
    // undici: not read before listening; its own chunk, imported by the runtime when it first forwards or fetches.
    expect(loadedText).not.toContain('node_modules/undici/');
    const undici = chunkNamed('undici-pools');
    expect(importsOf(runtime).dynamic).toContain(undici);
    // The pooled clients, not the package index with fetch, WebSocket and mocks.
    const undiciText = readFileSync(undici, 'utf8');
    expect(undiciText).toContain('node_modules/undici/lib/dispatcher/pool.js');
    expect(undiciText).toContain('node_modules/undici/lib/dispatcher/agent.js');
    expect(undiciText).not.toContain('node_modules/undici/index.js');
    for (const unused of ['lib/web/fetch/index.js', 'lib/web/websocket/', 'lib/mock/', 'lib/cache/', 'lib/interceptor/']) {
      expect(undiciText).not.toContain(`node_modules/undici/${unused}`);
    }
    // zod: English messages only, not its 50 locales.
    expect(loadedText).toContain('Invalid input');
    expect(loadedText).not.toContain('Ongeldige invoer'); // the Dutch locale's message
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

  describe('serve with no configuration (the development setup, from the lazily loaded chunks)', () => {
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
