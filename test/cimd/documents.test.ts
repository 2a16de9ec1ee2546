import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientMetadataDocuments, type ClientMetadataDocumentsOptions } from '../../src/oauth/cimd/document-cache.js';
import { ClientMetadataError } from '../../src/oauth/cimd/errors.js';
import { json, manualClock, startServer, type Handler, type TestServer } from './servers.js';

let server: TestServer;
let logs: Array<{ message: string; fields: Record<string, unknown> | undefined }>;
const logger = {
  debug() {},
  info() {},
  warn: (message: string, fields?: Record<string, unknown>) => void logs.push({ message, fields }),
  error: (message: string, fields?: Record<string, unknown>) => void logs.push({ message, fields }),
};

/** The client address every request here comes from. */
const ADDRESS = '192.0.2.1';

let counter = 0;
/** A fresh path per test, so cached documents never leak between tests. */
function freshClient(handler: (clientId: string) => Handler): { clientId: string; path: string; hits: () => number } {
  const path = `/clients/${++counter}.json`;
  const clientId = `${server.origin}${path}`;
  server.route(path, handler(clientId));
  return { clientId, path, hits: () => server.hits.get(path) ?? 0 };
}

const documentFor = (clientId: string, extra: Record<string, unknown> = {}) => ({
  client_id: clientId,
  client_name: 'Test Client',
  redirect_uris: ['http://127.0.0.1:5555/callback'],
  ...extra,
});

function resolver(options: Partial<ClientMetadataDocumentsOptions> = {}) {
  const clock = manualClock();
  const documents = new ClientMetadataDocuments({ allowPrivateNetwork: true, redirectSchemes: ['cursor'], clock: clock.now, logger, ...options });
  return { documents, clock };
}

async function refusal(promise: Promise<unknown>): Promise<ClientMetadataError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ClientMetadataError);
  return error as ClientMetadataError;
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
beforeEach(() => {
  logs = [];
});

describe('resolving a valid document (C3, C5, C8)', () => {
  it('returns the validated document and serves the second resolve from the cache', async () => {
    const client = freshClient((id) => json(documentFor(id, { application_type: 'native' })));
    const { documents } = resolver();
    const document = await documents.resolve(client.clientId, ADDRESS);
    expect(document).toMatchObject({ client_id: client.clientId, client_name: 'Test Client', token_endpoint_auth_method: 'none' });
    expect(document).not.toHaveProperty('application_type');
    await documents.resolve(client.clientId, ADDRESS);
    expect(client.hits()).toBe(1);
  });

  it('honours Cache-Control max-age with the injected clock', async () => {
    const client = freshClient((id) => json(documentFor(id), { 'cache-control': 'max-age=120' }));
    const { documents, clock } = resolver();
    await documents.resolve(client.clientId, ADDRESS);
    clock.advance(119);
    await documents.resolve(client.clientId, ADDRESS);
    expect(client.hits()).toBe(1);
    clock.advance(2);
    await documents.resolve(client.clientId, ADDRESS);
    expect(client.hits()).toBe(2);
  });

  it('clamps a short max-age up to the minimum and a long one down to the maximum', async () => {
    const short = freshClient((id) => json(documentFor(id), { 'cache-control': 'max-age=5' }));
    const long = freshClient((id) => json(documentFor(id), { 'cache-control': 'max-age=31536000' }));
    const { documents, clock } = resolver({ minCacheSeconds: 60, maxCacheSeconds: 3_600 });
    await Promise.all([documents.resolve(short.clientId, ADDRESS), documents.resolve(long.clientId, ADDRESS)]);
    clock.advance(30);
    await Promise.all([documents.resolve(short.clientId, ADDRESS), documents.resolve(long.clientId, ADDRESS)]);
    expect([short.hits(), long.hits()]).toEqual([1, 1]);
    clock.advance(31);
    await documents.resolve(short.clientId, ADDRESS);
    expect(short.hits()).toBe(2);
    clock.advance(3_600);
    await documents.resolve(long.clientId, ADDRESS);
    expect(long.hits()).toBe(2);
  });

  it('keeps a no-store document only for the minimum, and not at all when the minimum is 0', async () => {
    const client = freshClient((id) => json(documentFor(id), { 'cache-control': 'no-store' }));
    const { documents, clock } = resolver({ minCacheSeconds: 60 });
    await documents.resolve(client.clientId, ADDRESS);
    clock.advance(59);
    await documents.resolve(client.clientId, ADDRESS);
    expect(client.hits()).toBe(1);
    clock.advance(2);
    await documents.resolve(client.clientId, ADDRESS);
    expect(client.hits()).toBe(2);

    const strict = resolver({ minCacheSeconds: 0 }).documents;
    await strict.resolve(client.clientId, ADDRESS);
    await strict.resolve(client.clientId, ADDRESS);
    expect(client.hits()).toBe(4);
  });

  it('shares one fetch between concurrent resolves of the same URL', async () => {
    // The server holds its answer until every resolve has started.
    let arrived!: () => void;
    const firstArrival = new Promise<void>((resolve) => (arrived = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const client = freshClient((id) => (req, res, origin) => {
      arrived();
      void answered.then(() => json(documentFor(id))(req, res, origin));
    });
    const { documents } = resolver();
    const resolving = Promise.all(Array.from({ length: 5 }, () => documents.resolve(client.clientId, ADDRESS)));
    await firstArrival;
    answer();
    const results = await resolving;
    expect(results.every((document) => document.client_id === client.clientId)).toBe(true);
    expect(client.hits()).toBe(1);
  });
});

describe('refusing bad documents, never cached (C4, C5, C7, C8)', () => {
  it.each([
    ['a mismatched client_id', (id: string) => documentFor(`${id}x`), /client_id/],
    ['a bad redirect_uri', (id: string) => documentFor(id, { redirect_uris: ['http://evil.example/callback'] }), /redirect_uris\[0\]/],
    ['a missing client_name', (id: string) => ({ client_id: id, redirect_uris: ['https://app.example/cb'] }), /client_name/],
    ['a client_secret', (id: string) => documentFor(id, { client_secret: 'hunter2' }), /client_secret/],
    ['a shared-secret method', (id: string) => documentFor(id, { token_endpoint_auth_method: 'client_secret_basic' }), /shared secret/],
  ])('refuses %s, and fetches again next time', async (_label, makeDocument, detail) => {
    let broken = true;
    const client = freshClient((id) => (req, res, origin) => json(broken ? makeDocument(id) : documentFor(id))(req, res, origin));
    const { documents } = resolver();
    const error = await refusal(documents.resolve(client.clientId, ADDRESS));
    expect(error.code).toBe('invalid_document');
    expect(error.detail).toMatch(detail);
    expect(error.message).not.toMatch(/hunter2/);
    expect(logs).toEqual([expect.objectContaining({ fields: expect.objectContaining({ reason: 'invalid_document' }) })]);
    expect((await refusal(documents.resolve(client.clientId, ADDRESS))).code).toBe('invalid_document');
    expect(client.hits()).toBe(2);
    broken = false;
    await expect(documents.resolve(client.clientId, ADDRESS)).resolves.toMatchObject({ client_id: client.clientId });
    expect(client.hits()).toBe(3);
  });

  it('refuses a body that is not JSON', async () => {
    const client = freshClient(() => (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'));
    const error = await refusal(resolver().documents.resolve(client.clientId, ADDRESS));
    expect([error.code, error.detail]).toEqual(['invalid_document', 'the body is not UTF-8 JSON']);
  });

  it.each([
    ['with Content-Length', true],
    ['streamed without Content-Length', false],
  ])('refuses a document over 5 KB %s', async (_label, declared) => {
    const client = freshClient((id) => (_req, res) => {
      const text = JSON.stringify(documentFor(id, { padding: 'p'.repeat(6_000) }));
      if (declared) res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(text.slice(0, 3_000));
        res.end(text.slice(3_000));
      }
    });
    const error = await refusal(resolver().documents.resolve(client.clientId, ADDRESS));
    expect(error.code).toBe('fetch_failed');
    expect(error.detail).toMatch(/^too_large/);
  });

  it('does not follow a redirect to another document', async () => {
    const target = freshClient((id) => json(documentFor(id)));
    const client = freshClient(() => (_req, res) => res.writeHead(301, { location: target.clientId }).end());
    const error = await refusal(resolver().documents.resolve(client.clientId, ADDRESS));
    expect(error.detail).toMatch(/^redirect/);
    expect(target.hits()).toBe(0);
  });

  it.each([404, 500])('does not cache a %i response: the next resolve fetches again', async (status) => {
    let failing = true;
    const client = freshClient((id) => (req, res, origin) => (failing ? res.writeHead(status).end('{}') : json(documentFor(id))(req, res, origin)));
    const { documents } = resolver();
    const error = await refusal(documents.resolve(client.clientId, ADDRESS));
    expect([error.code, error.detail]).toEqual(['fetch_failed', `http_status: The server answered with status ${status}.`]);
    await refusal(documents.resolve(client.clientId, ADDRESS));
    expect(client.hits()).toBe(2);
    failing = false;
    await documents.resolve(client.clientId, ADDRESS);
    expect(client.hits()).toBe(3);
  });

  it('gives up on a slow server after the timeout', async () => {
    // The server never answers: the refusal can only come from the timeout.
    const client = freshClient(() => () => undefined);
    const error = await refusal(resolver({ fetchTimeoutMs: 300 }).documents.resolve(client.clientId, ADDRESS));
    expect(error.detail).toMatch(/^timeout/);
  });

  it('refuses a malformed client_id URL without fetching anything', async () => {
    const client = freshClient((id) => json(documentFor(id)));
    const error = await refusal(resolver().documents.resolve(`${client.clientId}?v=2`, ADDRESS));
    expect([error.code, error.detail]).toEqual(['invalid_client_id', 'client_id must not contain a query']);
    expect(client.hits()).toBe(0);
  });
});

describe('the production setting', () => {
  it('refuses http and loopback client_ids before any connection', async () => {
    const client = freshClient((id) => json(documentFor(id)));
    const { documents } = resolver({ allowPrivateNetwork: false });
    const connections = server.seen.connections;
    expect((await refusal(documents.resolve(client.clientId, ADDRESS))).code).toBe('invalid_client_id');
    const https = client.clientId.replace('http://', 'https://');
    const error = await refusal(documents.resolve(https, ADDRESS));
    expect([error.code, error.detail]).toEqual(['fetch_failed', expect.stringMatching(/^forbidden_address/)]);
    expect(server.seen.connections).toBe(connections);
    expect(client.hits()).toBe(0);
  });
});
