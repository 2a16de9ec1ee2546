/**
 * Capsule sizes for typical upstream sessions, and the cost of opening an
 * access capsule with jose against a raw AES-256-GCM decrypt of the same
 * bytes (the baseline), measured in the same run; then the size of a sealed
 * MCP session id and the cost of checking it per request, cache miss and hit. Also the access
 * tokens of the grants without an upstream session (client credentials, identity assertions).
 * Run: npm run bench:capsules
 */
import { createDecipheriv } from 'node:crypto';
import { CapsuleCodec } from '../src/crypto/capsule.js';
import { parseConfig } from '../src/config/load.js';
import { CONSENT_FORMAT, type AccessPayload, type Identity } from '../src/domain/capsule-schemas.js';
import { clientSubject } from '../src/domain/client-subject.js';
import { issueTokens } from '../src/oauth/token-issuer.js';
import { KeyRing } from '../src/crypto/keyring.js';
import { deriveClientSecret } from '../src/crypto/client-secret.js';
import { checkSessionId, type SessionOwner } from '../src/mcp/session-binding.js';

const randomText = (length: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(length))).toString('base64url').slice(0, length);

const SESSIONS = {
  // Google: opaque ~220-character access token, ~100-character refresh token.
  google: { access: randomText(220), refresh: randomText(103) },
  // Entra ID: a JWT access token of ~1.6 KB and a ~1.4 KB refresh token.
  entra: { access: `eyJ${randomText(1600)}`, refresh: randomText(1400) },
  // The embedded development IdP (oidc-provider): 43-character opaque tokens.
  'oidc-provider': { access: randomText(43), refresh: randomText(43) },
};

const keyBytes = new Uint8Array(32).fill(7);
const ring = await KeyRing.create([keyBytes]);
const codec = new CapsuleCodec(ring);
const now = codec.nowSeconds();

const clientId = await codec.seal('client', {
  redirect_uris: ['http://127.0.0.1:33418/callback', 'https://vscode.dev/redirect'],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  client_name: 'Visual Studio Code',
  iat: now,
});
await deriveClientSecret(ring, ring.sealing.kid, clientId);

const identity = { sub: '110169484474386276334', email: 'alice.example@gmail.com', email_verified: true, name: 'Alice Example' };
const rows: string[][] = [['session', 'client_id', 'access token', 'refresh token']];
let sample: string | undefined;
for (const [name, tokens] of Object.entries(SESSIONS)) {
  const upstream = { access_token: tokens.access, expires_at: now + 3600 };
  const access: AccessPayload = {
    identity,
    upstream,
    cid: 'Xc2QZx0v9cJqk1T4b1s0Aw',
    scope: '',
    aud: 'https://mcp.example.com/mcp',
    gid: randomText(43),
    jti: randomText(43),
    iat: now,
    exp: now + 3600,
  };
  const accessToken = await codec.seal('access', access);
  const refreshToken = await codec.seal('refresh', {
    ...access,
    upstream: { ...upstream, refresh_token: tokens.refresh },
    gen: 0,
  });
  if (name === 'google') sample = accessToken;
  rows.push([name, String(clientId.length), String(accessToken.length), String(refreshToken.length)]);
}
console.log('Capsule sizes (characters)');
for (const row of rows) console.log(row.map((cell) => cell.padEnd(16)).join(''));

// Granted scopes travel in every access token (and the consent cookie): a Google session's token by scope.
const SCOPES = {
  none: '',
  'step-up (mcp mcp:admin offline_access)': 'mcp mcp:admin offline_access',
  'large (20 scopes, 500 characters)': Array.from({ length: 20 }, (_, i) => `mcp:tool-group-${String(i).padStart(2, '0')}:write`).join(' '),
};
const googleAccess = await codec.open('access', sample!);
console.log('\nAccess token by granted scope (Google session, characters)');
for (const [name, scope] of Object.entries(SCOPES)) {
  console.log(`${name.padEnd(40)} ${(await codec.seal('access', { ...googleAccess, scope })).length}`);
}
const approvals = Array.from({ length: 20 }, (_, i) => ({ key: randomText(22), at: now, scope: i % 2 ? SCOPES['step-up (mcp mcp:admin offline_access)'] : 'mcp offline_access' }));
console.log(`Consent cookie with its 20 approvals, half of them stepped up: ${(await codec.seal('consent', { v: CONSENT_FORMAT, approvals, exp: now + 3600 })).length} characters`);

// Tokens of the grants without an upstream session, as the token endpoint issues them (no refresh token).
const config = parseConfig({
  keys: Buffer.from(keyBytes).toString('base64url'),
  publicUrl: 'https://mcp.example.com',
  upstream: { issuer: 'https://accounts.example.com', clientId: 'proxy' },
  routes: [{ url: 'https://mcp-server.internal/mcp', auth: 'identity-headers' }],
  registration: {},
  clientMetadataDocuments: {},
  ttl: {},
});
const sessionless: Array<[string, Identity]> = [
  ['client credentials', { sub: clientSubject('nightly-report-agent'), name: 'Nightly Report Agent' }],
  ['identity assertion (ID-JAG)', { sub: '00u1b2c3d4e5f6g7h8i9', email: 'alice@corp.example', email_verified: true, name: 'Alice Example', groups: ['engineering', 'mcp-users'] }],
];
console.log('\nAccess tokens without an upstream session (characters)');
for (const [name, grantIdentity] of sessionless) {
  const grant = { identity: grantIdentity, cid: 'Xc2QZx0v9cJqk1T4b1s0Aw', scope: '', resource: 'https://mcp.example.com/mcp', gid: randomText(43) };
  const { access_token: token } = await issueTokens(grant, { capsules: codec, config });
  console.log(`${name.padEnd(32)}${token.length}`);
}

// Baseline: node:crypto AES-256-GCM over the same compact JWE bytes, key material prepared once.
// The proxy's derived keys are non-extractable by design; the baseline derives an extractable twin.
async function extractableAccessKey(): Promise<CryptoKey> {
  const master = await crypto.subtle.importKey('raw', keyBytes, 'HKDF', false, ['deriveKey']);
  const encode = (text: string) => new TextEncoder().encode(text);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: encode('mcp-capsule/v1'), info: encode('capsule:access') },
    master,
    { name: 'AES-GCM', length: 256 },
    true,
    ['decrypt'],
  );
}
const aesKey = Buffer.from(await crypto.subtle.exportKey('raw', await extractableAccessKey()));
const [header, , iv, ciphertext, tag] = sample!.split('.');
function rawOpen(): string {
  const decipher = createDecipheriv('aes-256-gcm', aesKey, Buffer.from(iv!, 'base64url'));
  decipher.setAAD(Buffer.from(header!, 'ascii'));
  decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext!, 'base64url')), decipher.final()]).toString('utf8');
}
if (JSON.parse(rawOpen()).aud !== 'https://mcp.example.com/mcp') throw new Error('baseline decrypt disagrees with the capsule');

async function opsPerSecond(run: () => unknown, durationMs = 1500): Promise<number> {
  const until = performance.now() + durationMs;
  let count = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) await run();
    count += 100;
  }
  return count / (durationMs / 1000);
}

const results: Array<{ name: string; ops: number }> = [];
for (let round = 0; round < 3; round++) {
  // Alternate the order each round so neither variant always runs warm.
  const variants: Array<[string, () => unknown]> = [
    ['raw AES-GCM (baseline)', rawOpen],
    ['capsule open (jose + zod)', () => codec.open('access', sample!)],
  ];
  if (round % 2) variants.reverse();
  for (const [name, run] of variants) results.push({ name, ops: await opsPerSecond(run) });
}
const medianOf = (measured: ReadonlyArray<{ name: string; ops: number }>, name: string) => {
  const values = measured.filter((r) => r.name === name).map((r) => r.ops).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
};
const median = (name: string) => medianOf(results, name);
const baseline = median('raw AES-GCM (baseline)');
console.log('\nOpening a Google-session access capsule (median of 3 rounds)');
for (const name of ['raw AES-GCM (baseline)', 'capsule open (jose + zod)']) {
  const ops = median(name);
  console.log(`${name.padEnd(28)} ${Math.round(ops).toString().padStart(9)} ops/s  ${(1e6 / ops).toFixed(1).padStart(7)} µs/op  ${(ops / baseline).toFixed(2)}x`);
}

// A session id as the SDK's servers issue it (a UUID), sealed for a Google user and a registered client.
const owner: SessionOwner = { route: '/mcp', sub: identity.sub, cid: 'Xc2QZx0v9cJqk1T4b1s0Aw' };
const sessionId = await codec.seal('session', { sid: crypto.randomUUID(), ...owner });
console.log(`\nSealed Mcp-Session-Id (UUID, Google subject, route /mcp): ${sessionId.length} characters`);
const sessionResults: Array<{ name: string; ops: number }> = [];
for (let round = 0; round < 3; round++) {
  const variants: Array<[string, () => unknown]> = [
    // What a miss costs: the open (the cache insert aside), as for an id this instance has not seen.
    ['session check, cache miss', () => codec.open('session', sessionId)],
    ['session check, cache hit', () => checkSessionId(codec, sessionId, owner)],
  ];
  if (round % 2) variants.reverse();
  for (const [name, run] of variants) sessionResults.push({ name, ops: await opsPerSecond(run) });
}
console.log('Checking a sealed session id per request (median of 3 rounds)');
for (const name of ['session check, cache miss', 'session check, cache hit']) {
  const ops = medianOf(sessionResults, name);
  console.log(`${name.padEnd(28)} ${Math.round(ops).toString().padStart(9)} ops/s  ${(1e6 / ops).toFixed(1).padStart(7)} µs/op`);
}
