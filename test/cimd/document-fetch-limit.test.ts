import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientMetadataDocuments } from '../../src/oauth/cimd/document-cache.js';
import { ClientMetadataError, ClientMetadataFetchLimited } from '../../src/oauth/cimd/errors.js';
import { json, manualClock, startServer, type TestServer } from './servers.js';

let server: TestServer;
let counter = 0;

/** A fresh document path (valid unless `missing`), and how often the server was asked for it. */
function freshDocument(options: { missing?: boolean } = {}): { clientId: string; hits: () => number } {
  const path = `/limited/${++counter}.json`;
  const clientId = `${server.origin}${path}`;
  if (!options.missing) server.route(path, json({ client_id: clientId, client_name: 'Test Client', redirect_uris: ['http://127.0.0.1:5555/callback'] }));
  return { clientId, hits: () => server.hits.get(path) ?? 0 };
}

function documentsLimitedTo(fetchesPerAddressPerMinute: number) {
  const clock = manualClock();
  const documents = new ClientMetadataDocuments({ allowPrivateNetwork: true, redirectSchemes: [], clock: clock.now, fetchesPerAddressPerMinute });
  return { documents, clock };
}

/** Expects a refusal for this reason (and, for the fetch limit, this wait). */
async function expectRefused(promise: Promise<unknown>, code: string, retryAfterSeconds?: number): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(code === 'too_many_fetches' ? ClientMetadataFetchLimited : ClientMetadataError);
  await expect(promise).rejects.toMatchObject({ code, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('the per-address limit on document fetches', () => {
  it('counts actual fetches per address, refuses the next without connecting, and opens again after a minute', async () => {
    const { documents, clock } = documentsLimitedTo(2);
    const [first, second, third] = [freshDocument(), freshDocument(), freshDocument()];
    await documents.resolve(first.clientId, 'a');
    await documents.resolve(second.clientId, 'a');

    await expectRefused(documents.resolve(third.clientId, 'a'), 'too_many_fetches', 60);
    expect(third.hits()).toBe(0);

    // Another address has its own count.
    await expect(documents.resolve(third.clientId, 'b')).resolves.toMatchObject({ client_id: third.clientId });
    expect(third.hits()).toBe(1);

    clock.advance(30);
    const later = freshDocument();
    await expectRefused(documents.resolve(later.clientId, 'a'), 'too_many_fetches', 30);
    clock.advance(30);
    await documents.resolve(later.clientId, 'a');
    expect(later.hits()).toBe(1);
  });

  it('does not count a document served from the cache, for any address', async () => {
    const { documents } = documentsLimitedTo(1);
    const known = freshDocument();
    await documents.resolve(known.clientId, 'a');
    for (const address of ['a', 'a', 'b']) await documents.resolve(known.clientId, address);
    expect(known.hits()).toBe(1);
    // 'b' never fetched, so it still may; 'a' may not.
    await expectRefused(documents.resolve(freshDocument().clientId, 'a'), 'too_many_fetches');
    await documents.resolve(freshDocument().clientId, 'b');
  });

  it('counts one fetch for concurrent requests that share it', async () => {
    const { documents } = documentsLimitedTo(1);
    const shared = freshDocument();
    const results = await Promise.all(Array.from({ length: 5 }, () => documents.resolve(shared.clientId, 'a')));
    expect(results.every((document) => document.client_id === shared.clientId)).toBe(true);
    expect(shared.hits()).toBe(1);
  });

  it('counts a failed fetch, which is an outbound request all the same; a malformed client_id, never fetched, costs nothing', async () => {
    const { documents } = documentsLimitedTo(1);
    await expectRefused(documents.resolve('ftp://example.com/client.json', 'a'), 'invalid_client_id');
    const missing = freshDocument({ missing: true });
    await expectRefused(documents.resolve(missing.clientId, 'a'), 'fetch_failed');
    expect(missing.hits()).toBe(1);
    // Failures are never cached, so asking again would be another fetch: refused.
    await expectRefused(documents.resolve(missing.clientId, 'a'), 'too_many_fetches');
    expect(missing.hits()).toBe(1);
  });
});
