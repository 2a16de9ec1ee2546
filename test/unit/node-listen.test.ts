import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listen, type LoadAdapter } from '../../src/runtime/node-listen.js';

/** One GET, resolved with status and body. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the Node listener', () => {
  it('listens before the fetch adapter is loaded; requests accepted meanwhile are answered once it is', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let loads = 0;
    const loadAdapter: LoadAdapter = async () => {
      loads++;
      await released;
      return import('@hono/node-server');
    };
    const server = await listen((request) => new Response(`hello ${new URL(request.url).pathname}`), '127.0.0.1', 0, { loadAdapter });
    try {
      const { port } = server.address() as AddressInfo;
      const arrived: string[] = [];
      const bothArrived = new Promise<void>((resolve) =>
        server.on('request', (incoming) => {
          arrived.push(incoming.url!);
          if (arrived.length === 2) resolve();
        }),
      );
      const first = get(port, '/first');
      const second = get(port, '/second');
      // Both reached the server while the adapter was still held back.
      await bothArrived;
      expect(arrived.sort()).toEqual(['/first', '/second']);
      release();
      expect(await first).toEqual({ status: 200, body: 'hello /first' });
      expect(await second).toEqual({ status: 200, body: 'hello /second' });
      // From now on the adapter's listener serves requests directly; it was loaded once.
      expect(await get(port, '/third')).toEqual({ status: 200, body: 'hello /third' });
      expect(loads).toBe(1);
      expect(server.listeners('request')).toHaveLength(2); // the adapter's, and this test's
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects when the port is taken, naming the error', async () => {
    const first = await listen(() => new Response('one'), '127.0.0.1', 0);
    try {
      const { port } = first.address() as AddressInfo;
      await expect(listen(() => new Response('two'), '127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => first.close(resolve));
    }
  });
});
