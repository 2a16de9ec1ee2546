/**
 * Shared harness of the property-based fuzz suites (fast-check): the real app
 * in-process with a recording logger, a tiny local downstream, a set of valid
 * capsules of every kind, generators of hostile input, and the invariants
 * every response must keep.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { ProxyApp } from '../../src/http/app.js';
import { base64url } from 'jose';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { CapsuleCodec } from '../../src/crypto/capsule.js';
import { CONSENT_FORMAT } from '../../src/domain/capsule-schemas.js';
import type { CapsuleKind } from '../../src/crypto/keyring.js';
import { shortDigest, utf8 } from '../../src/crypto/encoding.js';
import { s256Challenge } from '../../src/crypto/pkce.js';
import type { Logger } from '../../src/observability/logger.js';
import { testConfig } from '../support/deps.js';

export const ISSUER = 'https://proxy.example.com';
export const RESOURCE = `${ISSUER}/mcp`;
export const REDIRECT_URI = 'https://app.example.com/cb';
export const ADMIN_TOKEN = 'admin-token-'.padEnd(48, 'x');
export const INTROSPECTOR = { id: 'introspector', secret: 'introspector-secret-0123456789' };
export const BINDING = 'b'.repeat(43);
export const VERIFIER = 'v'.repeat(43);

/** fast-check options: FUZZ_SEED replays a run, FUZZ_RUNS_FACTOR scales every suite (e.g. 10 for a long local run). */
export function runs(numRuns: number): fc.Parameters<unknown> {
  const factor = Number(process.env.FUZZ_RUNS_FACTOR ?? '1') || 1;
  return {
    numRuns: Math.max(1, Math.round(numRuns * factor)),
    ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
    endOnFailure: true,
  };
}

/** Error-level log lines: the app logs every 500 and every unexpected exception at this level. */
export class ErrorLog {
  readonly entries: Array<{ message: string; fields: unknown }> = [];
  readonly logger: Logger = {
    debug() {},
    info() {},
    warn() {},
    error: (message, fields) => {
      this.entries.push({ message, fields });
    },
  };
  /** Throws (failing the property) when anything was logged as an error since the last call. */
  assertClean(): void {
    const entries = this.entries.splice(0);
    if (entries.length) throw new Error(`error logged: ${entries.map((entry) => `${entry.message} ${safeStringify(entry.fields)}`).join(' | ')}`);
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, inner) => (inner instanceof Error ? { name: inner.name, message: inner.message, stack: inner.stack } : inner));
  } catch {
    return String(value);
  }
}

/** A downstream MCP server that answers every request 200 with a marker header: anything else seen is the proxy's own answer. */
export async function startDownstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-fuzz-downstream': '1' });
      response.end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function fuzzConfig(downstreamUrl: string, overrides: Record<string, unknown> = {}): Config {
  return testConfig({
    // An upstream that refuses at once: flows that reach it fail fast instead of waiting on DNS.
    upstream: { issuer: 'http://127.0.0.1:9', clientId: 'proxy', clientSecret: 'upstream-secret' },
    routes: [{ url: downstreamUrl, tools: { disabled: ['delete_*'] } }],
    admin: { token: ADMIN_TOKEN },
    clientMetadataDocuments: { enabled: false },
    clients: [{ client_id: INTROSPECTOR.id, client_secret: INTROSPECTOR.secret, redirect_uris: ['https://rs.example.com/cb'] }],
    ...overrides,
  });
}

export interface Fixture {
  readonly app: ProxyApp;
  readonly deps: Awaited<ReturnType<typeof import('../../src/runtime/deps.js').buildDeps>>;
  readonly errors: ErrorLog;
  readonly capsules: CapsuleCodec;
  /** A public client (none) and a confidential one (client_secret_basic), both registered through /register. */
  readonly publicClient: { id: string; cid: string };
  readonly secretClient: { id: string; secret: string; cid: string };
  /** One valid capsule of every kind, bound to the public client. */
  readonly valid: Readonly<Record<CapsuleKind, string>>;
  /** Every valid capsule, for swapped-kind and mutation generators. */
  readonly allCapsules: readonly string[];
  /** Replaces the FRESH markers in generated values by newly sealed single-use capsules (codes, refresh tokens, transactions). */
  readonly freshen: (pairs: ReadonlyArray<readonly [string, string]>) => Promise<Array<[string, string]>>;
  readonly close: () => Promise<void>;
}

/**
 * One fixture for the calling test file: built before its tests, closed after,
 * and with FUZZ_STATS set, how often each status came back.
 */
export function useFixture(receive: (fixture: Fixture) => void): void {
  let fixture: Fixture | undefined;
  beforeAll(async () => {
    fixture = await buildFixture();
    receive(fixture);
  });
  afterAll(async () => {
    await fixture?.close();
    if (process.env.FUZZ_STATS) console.log([...statusCounts].map(([key, count]) => `${count}\t${key}`).sort().join('\n'));
  });
}

export async function buildFixture(overrides: Record<string, unknown> = {}): Promise<Fixture> {
  const downstream = await startDownstream();
  const config = fuzzConfig(downstream.url, overrides);
  const errors = new ErrorLog();
  const { buildDeps } = await import('../../src/runtime/deps.js');
  const { createApp } = await import('../../src/http/app.js');
  const { createForwarder } = await import('../../src/proxy/index.js');
  const deps = await buildDeps(config, {
    logger: errors.logger,
    createForwarder: (headersTimeoutMs) => createForwarder({ runtime: 'web', headersTimeoutMs, logger: errors.logger }),
  });
  const app = createApp(deps);

  const register = async (body: unknown) => {
    const response = await app.request('/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(201);
    return (await response.json()) as { client_id: string; client_secret?: string };
  };
  const grants = ['authorization_code', 'refresh_token'];
  const pub = await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', grant_types: grants, client_name: 'Fuzz' });
  const sec = await register({ redirect_uris: [REDIRECT_URI], grant_types: grants });
  const publicClient = { id: pub.client_id, cid: await shortDigest(pub.client_id) };
  const secretClient = { id: sec.client_id, secret: sec.client_secret!, cid: await shortDigest(sec.client_id) };

  const capsules = deps.capsules;
  const now = capsules.nowSeconds();
  const identity = { sub: 'user-1', email: 'u@example.com', email_verified: true };
  const request = {
    cid: publicClient.cid,
    client_name: 'Fuzz',
    redirect_uri: REDIRECT_URI,
    state: 'st',
    code_challenge: await s256Challenge(VERIFIER),
    scope: '',
    resource: RESOURCE,
    refresh: true,
    upstream_verifier: 'u'.repeat(43),
    upstream_nonce: 'nonce',
    binding: await shortDigest(BINDING),
    consent_key: 'key',
    jti: 'jti-request',
    exp: now + 600,
  };
  const valid: Record<CapsuleKind, string> = {
    client: publicClient.id,
    pending: await capsules.seal('pending', request),
    transaction: await capsules.seal('transaction', { ...request, jti: 'jti-transaction' }),
    consent: await capsules.seal('consent', { v: CONSENT_FORMAT, approvals: [{ key: 'key', at: now, scope: '' }], exp: now + 600 }),
    code: await capsules.seal('code', {
      identity,
      upstream: { access_token: 'upstream-access' },
      cid: publicClient.cid,
      redirect_uri: REDIRECT_URI,
      code_challenge: request.code_challenge,
      scope: '',
      resource: RESOURCE,
      refresh: true,
      jti: 'jti-code',
      exp: now + 60,
    }),
    access: await capsules.seal('access', {
      identity,
      upstream: { access_token: 'upstream-access' },
      cid: publicClient.cid,
      scope: '',
      aud: RESOURCE,
      gid: 'gid-1',
      jti: 'jti-access',
      iat: now,
      exp: now + 3600,
    }),
    refresh: await capsules.seal('refresh', {
      identity,
      upstream: { access_token: 'upstream-access', refresh_token: 'upstream-refresh' },
      cid: publicClient.cid,
      scope: '',
      aud: RESOURCE,
      gid: 'gid-1',
      gen: 0,
      jti: 'jti-refresh',
      iat: now,
      exp: now + 86400,
    }),
    session: await capsules.seal('session', { sid: 'downstream-session', route: '/mcp', sub: identity.sub, cid: publicClient.cid }),
  };
  let serial = 0;
  const fresh = async (marker: string): Promise<string> => {
    const n = ++serial;
    const at = capsules.nowSeconds();
    switch (marker) {
      case FRESH.code:
        return capsules.seal('code', { ...(await capsules.open('code', valid.code)), jti: `jti-code-${n}`, exp: at + 60 });
      case FRESH.secretCode:
        return capsules.seal('code', { ...(await capsules.open('code', valid.code)), cid: secretClient.cid, jti: `jti-code-s${n}`, exp: at + 60 });
      case FRESH.refresh:
        return capsules.seal('refresh', { ...(await capsules.open('refresh', valid.refresh)), gid: `gid-${n}`, jti: `jti-refresh-${n}`, iat: at });
      case FRESH.transaction:
        return capsules.seal('transaction', { ...request, jti: `jti-transaction-${n}` });
      default:
        return marker;
    }
  };
  const freshen = async (pairs: ReadonlyArray<readonly [string, string]>) =>
    Promise.all(pairs.map(async ([name, value]) => [name, await fresh(value)] as [string, string]));
  // The fixture itself must not have logged anything.
  errors.assertClean();
  return {
    app,
    deps,
    errors,
    capsules,
    publicClient,
    secretClient,
    valid,
    allCapsules: [...Object.values(valid), secretClient.id],
    freshen,
    close: async () => {
      await deps.close();
      await downstream.close();
    },
  };
}

// ---------------------------------------------------------------- generators

/** Markers the fixture's `freshen` replaces by newly sealed single-use capsules. */
export const FRESH = {
  code: '$FRESH_CODE',
  secretCode: '$FRESH_SECRET_CODE',
  refresh: '$FRESH_REFRESH',
  transaction: '$FRESH_TRANSACTION',
} as const;

/**
 * A valid form (or query) broken a little: some parameters dropped, some
 * replaced, some added (which repeats names), so validation gets passed deep.
 */
export function mutatedForm(
  bases: ReadonlyArray<ReadonlyArray<readonly [string, string]>>,
  names: readonly string[],
  value: fc.Arbitrary<string>,
): fc.Arbitrary<Array<[string, string]>> {
  return fc
    .tuple(
      fc.constantFrom(...bases),
      fc.subarray([...names], { maxLength: 2 }),
      fc.array(fc.tuple(fc.constantFrom(...names), value), { maxLength: 2 }),
      fc.array(formPair(names, value), { maxLength: 2 }),
      fc.nat({ max: 4 }),
    )
    .map(([base, dropped, replaced, added, chaos]) => {
      // A fifth of the time the base stays valid, so the success path is fuzzed too.
      if (chaos === 0) return base.map(([k, v]) => [k, v] as [string, string]);
      const replacements = new Map(replaced);
      const kept = base
        .filter(([name]) => !dropped.includes(name))
        .map(([name, v]) => [name, replacements.get(name) ?? v] as [string, string]);
      return [...kept, ...added];
    });
}

/** Payloads that would run script if a page or a sniffing browser rendered them raw. */
export const SCRIPT_PAYLOADS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg/onload=alert(1)>",
  'javascript:alert(1)',
  '</title><script>alert(document.domain)</script>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '" autofocus onfocus="alert(1)',
  '`-alert(1)-`',
  '<ScRiPt>alert(1)</sCrIpT>',
  '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
  '&lt;script&gt;alert(1)&lt;/script&gt;',
  '\u2028\u2029<script>',
  '<scr\u0000ipt>alert(1)</script>',
] as const;

export const scriptPayload = fc.constantFrom(...SCRIPT_PAYLOADS);

/** Any text a client might send, with the awkward cases weighted in. */
export const garbageText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 3, arbitrary: scriptPayload },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', '%', '%zz', '%E0%A4%A', '%00', '\u0000', '\ud800', '+', '&', '=', '==', 'null', '[]', '{}', '__proto__', 'constructor', 'toString'),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 70_000 }).map((n) => 'a'.repeat(n)) },
);

/** Variants of valid capsules: truncated, bit-flipped, segments swapped, headers forged, kinds swapped (as they are). */
export function capsuleVariant(all: readonly string[]): fc.Arbitrary<string> {
  const capsule = fc.constantFrom(...all);
  const header = (fields: Record<string, unknown>) => base64url.encode(JSON.stringify(fields));
  return fc.oneof(
    // As they are: used where another kind is expected, this is the swapped-kind case.
    capsule,
    fc.tuple(capsule, fc.nat()).map(([value, cut]) => value.slice(0, cut % (value.length + 1))),
    fc.tuple(capsule, fc.nat(), fc.integer({ min: 1, max: 63 })).map(([value, at, delta]) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const index = at % value.length;
      const char = value[index]!;
      if (char === '.') return value;
      const replaced = alphabet[(alphabet.indexOf(char) + delta) % alphabet.length]!;
      return value.slice(0, index) + replaced + value.slice(index + 1);
    }),
    fc.tuple(capsule, capsule, fc.integer({ min: 0, max: 4 })).map(([a, b, segment]) => {
      const left = a.split('.');
      const right = b.split('.');
      left[segment] = right[segment] ?? '';
      return left.join('.');
    }),
    fc.tuple(capsule, fc.record({
      alg: fc.constantFrom('dir', 'none', 'A256KW', 'RSA-OAEP', 'HS256'),
      enc: fc.constantFrom('A256GCM', 'A128CBC-HS256', 'none', ''),
      typ: fc.constantFrom('capsule-access', 'capsule-refresh', 'capsule-code', 'capsule-client', 'capsule-pending', 'JWT', 'capsule-__proto__'),
      kid: fc.oneof(fc.constant('AAAAAAAA'), fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor')),
      zip: fc.constantFrom(undefined, 'DEF'),
      crit: fc.constantFrom(undefined, ['exp'], ['b64']),
    }, { requiredKeys: ['alg', 'enc', 'typ'] })).map(([value, fields]) => [header(fields), ...value.split('.').slice(1)].join('.')),
    fc.tuple(capsule, fc.constantFrom('.', '..', '=', '==', ' ', '%2E', 'AAAA', '\n')).map(([value, junk]) => value + junk),
    fc.tuple(capsule, capsule).map(([a, b]) => `${a}.${b}`),
    capsule.map((value) => value.split('.').slice(0, 4).join('.')),
    fc.constantFrom('', '.', '....', 'a.b.c.d.e', `${header({ alg: 'dir', enc: 'A256GCM' })}....`, 'e30.e30.e30.e30.e30'),
    fc.integer({ min: 16_000, max: 20_000 }).map((n) => `${header({ alg: 'dir', enc: 'A256GCM', typ: 'capsule-access' })}.${'A'.repeat(n)}...`),
  );
}

export const formContentType = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  ' application/x-www-form-urlencoded ;charset=latin1',
);

export const otherContentType = fc.constantFrom(
  undefined,
  '',
  'text/plain',
  'application/json',
  'multipart/form-data; boundary=----x',
  'application/x-www-form-urlencodedx',
  'application/x-www-form-urlencoded-evil',
  'text/html',
  ';;;',
);

/** One form parameter: a known OAuth name (repeated names arise naturally) or a random one. */
export function formPair(names: readonly string[], value: fc.Arbitrary<string>): fc.Arbitrary<[string, string]> {
  return fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: garbageText }), value);
}

/** Serializes pairs into a form body: properly encoded, or raw (broken percent-escapes), optionally with invalid UTF-8 spliced in. */
export const formEncoding = fc.record({
  raw: fc.boolean(),
  invalidUtf8: fc.option(fc.constantFrom([0xff], [0xfe, 0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]), { nil: undefined }),
});

export function encodeForm(pairs: ReadonlyArray<readonly [string, string]>, encoding: { raw: boolean; invalidUtf8: readonly number[] | undefined }): Uint8Array<ArrayBuffer> | string {
  const text = encoding.raw ? pairs.map(([k, v]) => `${k}=${v}`).join('&') : new URLSearchParams(pairs.map(([k, v]) => [k, v])).toString();
  if (!encoding.invalidUtf8) return text;
  const bytes = utf8(text);
  const at = Math.floor(bytes.length / 2);
  return new Uint8Array([...bytes.slice(0, at), ...encoding.invalidUtf8, ...bytes.slice(at)]);
}

export function basicAuth(id: string, secret: string): string {
  // Lone surrogates cannot be percent-encoded: send them as U+FFFD.
  const encode = (value: string) => encodeURIComponent(value.replace(/[\ud800-\udfff]/g, (char, at: number, all: string) => (/[\ud800-\udbff][\udc00-\udfff]/.test(all.slice(at, at + 2)) || /[\ud800-\udbff][\udc00-\udfff]/.test(all.slice(at - 1, at + 1)) ? char : '\ufffd')));
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

// ---------------------------------------------------------------- invariants

const RFC6749_ERROR = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

export interface Checked {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly json: unknown;
}

/** Reads the body and checks what holds for every answer: no 5xx, and a body that says what it is. */
/** Status counts per test, printed with FUZZ_STATS=1 to see how deep the generators reach. */
export const statusCounts = new Map<string, number>();

export async function readChecked(response: Response, method = 'GET'): Promise<Checked> {
  if (process.env.FUZZ_STATS) {
    const key = `${expect.getState().currentTestName} -> ${response.status}${response.headers.get('location') ? ` ${response.headers.get('location')!.slice(0, 30)}` : ''}`;
    statusCounts.set(key, (statusCounts.get(key) ?? 0) + 1);
  }
  expect(response.status, 'no 5xx').toBeLessThan(500);
  const contentType = response.headers.get('content-type') ?? '';
  const text = await response.text();
  let json: unknown;
  if (method === 'HEAD') {
    expect(text).toBe('');
  } else if (contentType.startsWith('application/json')) {
    json = JSON.parse(text);
  } else if (text.length > 0) {
    // Anything with a body declares a type, so no browser has to sniff one.
    expect(contentType, `a body without application/json: ${text.slice(0, 200)}`).toMatch(/^(text\/html; charset=utf-8|text\/plain)/);
  }
  return { status: response.status, contentType, text, json };
}

/** An OAuth error (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 7009, RFC 7662): JSON with an ASCII `error` code. */
export function expectOAuthError(checked: Checked, response: Response): void {
  expect(checked.contentType).toMatch(/^application\/json/);
  const body = checked.json as Record<string, unknown>;
  expect(typeof body.error, checked.text).toBe('string');
  expect(body.error as string).toMatch(RFC6749_ERROR);
  if (body.error_description !== undefined) expect(body.error_description as string).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
  if (checked.status === 401) expect(response.headers.get('www-authenticate')).toBeTruthy();
  expect(response.headers.get('cache-control') ?? '').toMatch(/no-store/);
}

const EVENT_HANDLER_IN_TAG = /<[a-z][^>]*\son[a-z]+\s*=/i;
const SCRIPT_URL_IN_ATTRIBUTE = /\b(href|src|action|formaction)\s*=\s*["']?\s*(javascript|data|vbscript):/i;

/** A page of ours: locked-down headers, no script, no injected markup, no payload reflected raw. */
export function expectSafePage(checked: Checked, response: Response, injected: readonly string[] = []): void {
  expect(checked.contentType).toBe('text/html; charset=utf-8');
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('content-security-policy') ?? '').toContain("default-src 'none'");
  expect(checked.text).not.toMatch(/<script/i);
  expect(checked.text).not.toMatch(/<(img|svg|iframe)/i);
  expect(checked.text).not.toMatch(EVENT_HANDLER_IN_TAG);
  expect(checked.text).not.toMatch(SCRIPT_URL_IN_ATTRIBUTE);
  for (const payload of injected) {
    if (/[<>"'`]/.test(payload) && payload.length >= 4) expect(checked.text).not.toContain(payload);
  }
}

/** A redirect goes to an http(s) or private-use URI, never to a script scheme. */
export function expectSafeLocation(response: Response): void {
  const location = response.headers.get('location');
  if (location === null) return;
  const url = new URL(location, ISSUER);
  expect(['http:', 'https:', 'cursor:', 'vscode:', 'vscode-insiders:', 'windsurf:']).toContain(url.protocol);
}
