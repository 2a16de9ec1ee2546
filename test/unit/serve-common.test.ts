import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { clientAddressFrom, endableEventStreams, listenUrlOf, loadServeConfig } from '../../src/runtime/serve-common.js';

describe('runtime entry points: shared pieces', () => {
  it('takes the peer address, or the X-Forwarded-For entry the outermost trusted proxy appended', async () => {
    const seen: Array<string | undefined> = [];
    for (const hops of [0, 1, 2, 3]) {
      const app = new Hono().get('/', (c) => {
        seen.push(clientAddressFrom(hops, () => '10.0.0.1')(c));
        return c.body(null, 204);
      });
      await app.request('/', { headers: { 'x-forwarded-for': 'spoofed, 198.51.100.7, 192.0.2.1' } });
    }
    expect(seen).toEqual(['10.0.0.1', '192.0.2.1', '198.51.100.7', 'spoofed']);
    const app = new Hono().get('/', (c) => c.text(String(clientAddressFrom(1, () => '10.0.0.1')(c))));
    expect(await (await app.request('/')).text()).toBe('10.0.0.1');
  });

  it('brackets IPv6 listen addresses', () => {
    expect(listenUrlOf('127.0.0.1', 8080)).toBe('http://127.0.0.1:8080');
    expect(listenUrlOf('::1', 8080)).toBe('http://[::1]:8080');
  });

  it('ends open GET event streams cleanly on endAll, and leaves other responses alone', async () => {
    let cancelled = 0;
    const eventStream = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start: (controller) => controller.enqueue(new TextEncoder().encode('event: ping\n\n')),
          cancel: () => void cancelled++,
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    let handed: Response | undefined;
    const streams = endableEventStreams((_request: Request, _env: undefined) => (handed = eventStream()));
    const get = await streams.fetch(new Request('http://proxy.test/mcp'), undefined);
    expect(get).not.toBe(handed);
    const post = await streams.fetch(new Request('http://proxy.test/mcp', { method: 'POST' }), undefined);
    expect(post).toBe(handed);

    const reader = get.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('event: ping\n\n');
    const pending = reader.read();
    streams.endAll();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(cancelled).toBe(1);

    // A stream opened after endAll ends at once; the POST stream was never tracked.
    const late = await streams.fetch(new Request('http://proxy.test/mcp'), undefined);
    expect(await late.text()).toBe('');
    const postReader = post.body!.getReader();
    expect((await postReader.read()).done).toBe(false);
    await postReader.cancel();
  });

  it('says that the development setup is Node only when nothing is configured', async () => {
    const attempt = loadServeConfig({ CAPSULE_KEYS: 'A'.repeat(43), CAPSULE_PUBLIC_URL: 'http://127.0.0.1:8080' }, { name: 'Bun' });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/CAPSULE_UPSTREAM_ISSUER: is required/);
    await expect(attempt).rejects.toThrow(/development setup .* runs on Node only .* on Bun configure CAPSULE_UPSTREAM_ISSUER/);
    // A complete configuration loads, with a logger at its level.
    const { config, development } = await loadServeConfig(
      {
        CAPSULE_KEYS: 'A'.repeat(43),
        CAPSULE_PUBLIC_URL: 'http://127.0.0.1:8080',
        CAPSULE_UPSTREAM_ISSUER: 'https://accounts.example.com',
        CAPSULE_UPSTREAM_CLIENT_ID: 'proxy',
        CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp',
        CAPSULE_LOG_LEVEL: 'warn',
      },
      { name: 'Deno' },
    );
    expect(config.logLevel).toBe('warn');
    expect(development).toBeUndefined();
  });
});
