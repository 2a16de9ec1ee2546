import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli } from '../../scripts/bundle-cli.mjs';
import { freePort } from '../support/ports.js';

/**
 * Reading any of these globals makes Node compile its whole fetch implementation. This preload
 * wraps them in getters that report a read on stderr when nothing listens yet, then hand over
 * Node's own value.
 */
const PRELOAD = `
import net from 'node:net';
let listening = false;
const emit = net.Server.prototype.emit;
net.Server.prototype.emit = function (event, ...args) {
  if (event === 'listening') listening = true;
  return emit.call(this, event, ...args);
};
for (const name of ['fetch', 'Request', 'Response', 'Headers', 'FormData']) {
  const own = Object.getOwnPropertyDescriptor(globalThis, name);
  const settle = (value) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: own.enumerable });
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      if (!listening) process.stderr.write('fetch global read before listening: ' + name + '\\n' + new Error().stack + '\\n');
      const value = own.get ? own.get.call(globalThis) : own.value;
      settle(value);
      return value;
    },
    set: settle,
  });
}
`;

const outdir = mkdtempSync(join(tmpdir(), 'mcp-capsule-startup-'));

beforeAll(async () => {
  await bundleCli({ outdir });
  writeFileSync(join(outdir, 'watch-fetch-globals.mjs'), PRELOAD);
  // A configured start reads neither the development setup nor Redis support: here they are not even there.
  for (const name of ['development.cjs', 'redis-replay-store.cjs']) rmSync(join(outdir, 'lazy', name));
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the bundled serve command at start', () => {
  it('listens without reading Node fetch globals, and serves requests once listening', async () => {
    const [port, idpPort] = await Promise.all([freePort(), freePort()]);
    const child = spawn(process.execPath, ['--import', join(outdir, 'watch-fetch-globals.mjs'), join(outdir, 'cli.js'), 'serve'], {
      cwd: outdir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        CAPSULE_KEYS: 'A'.repeat(43),
        CAPSULE_PUBLIC_URL: `http://127.0.0.1:${port}`,
        HOST: '127.0.0.1',
        PORT: String(port),
        // Nothing listens there: discovery fails after start and is retried on the first sign-in.
        CAPSULE_UPSTREAM_ISSUER: `http://127.0.0.1:${idpPort}`,
        CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
        CAPSULE_UPSTREAM_CLIENT_SECRET: 'proxy-upstream-secret',
        CAPSULE_MCP_URL: `http://127.0.0.1:${idpPort}/mcp`,
        CAPSULE_DOWNSTREAM_AUTH: 'upstream-token',
      },
    });
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk) => void (output.stdout += chunk));
    child.stderr.on('data', (chunk) => void (output.stderr += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (output.stdout.includes('"msg":"mcp-capsule listening"')) resolve();
        };
        child.stdout.on('data', check);
        void exited.then(() => reject(new Error(`serve exited: ${output.stderr.slice(-1000)}`)));
      });
      const response = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { issuer?: string }).issuer).toBe(`http://127.0.0.1:${port}`);
      expect(output.stderr).not.toContain('fetch global read before listening');
      // Compiled from the build's code cache: --import is no V8 flag.
      expect(output.stderr).not.toContain('V8 refused');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }, 60_000);
});
