import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Provider from 'oidc-provider';
import type { ClientMetadata, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { createIdpMemoryAdapter } from './idp-memory-adapter.js';
import { handleLoginInteraction, INTERACTION_PATH } from './idp-login.js';

export interface EmbeddedIdpClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  /** Defaults to authorization_code + refresh_token, the shape of the proxy's upstream client. */
  grant_types?: string[];
  /** Defaults to client_secret_basic with a secret, none without. */
  token_endpoint_auth_method?: string;
}

export interface EmbeddedIdpOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  clients: EmbeddedIdpClient[];
  /** Short values let tests force the proxy to refresh upstream. */
  accessTokenTtlSeconds?: number;
  /** Runs on the provider before its clients are checked: registers a further grant type, say. */
  extend?: (provider: Provider) => void;
  // No clock option: oidc-provider reads Date.now() directly, so only fake timers can move its time.
}

export interface EmbeddedIdp {
  /** `http://host:port`, no trailing slash; discovery lives at `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  close(): Promise<void>;
}

/**
 * A real OpenID Provider (oidc-provider) on loopback for development and end-to-end tests.
 * Any login name signs in; consent is implied; PKCE S256 is mandatory; clients allowed the
 * refresh_token grant always get a refresh token, without the offline_access + prompt=consent dance.
 */
export async function startEmbeddedIdp(options: EmbeddedIdpOptions): Promise<EmbeddedIdp> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  // The issuer needs the real port, so the provider is built only once the socket is bound.
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let provider: Provider;
  try {
    const Provider = await importProviderQuietly();
    provider = new Provider(issuer, await configuration(options));
    options.extend?.(provider);
    // Static clients are validated lazily on first use; surface a bad definition at start instead.
    for (const { client_id } of options.clients) {
      await provider.Client.find(client_id).catch((cause: { message?: string; error_description?: string }) => {
        // oidc-provider's message is only the error code; the description says what is wrong.
        throw new Error(`embedded IdP client "${client_id}": ${cause.error_description ?? cause.message}`, { cause });
      });
    }
  } catch (error) {
    // A bad client definition must not leave a bound port behind.
    server.close();
    throw error;
  }
  const handleProtocol = provider.callback();

  server.on('request', (req, res) => {
    const uid = INTERACTION_PATH.exec(new URL(req.url ?? '/', issuer).pathname)?.[1];
    if (!uid) return void handleProtocol(req, res);
    handleLoginInteraction(provider, uid, req, res).catch((error: unknown) => {
      reportServerError(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('embedded IdP interaction failed');
    });
  });
  // oidc-provider hides 500s behind DEBUG=oidc-provider:*; a failing test should show their cause.
  provider.on('server_error', (_ctx: unknown, error: unknown) => reportServerError(error));

  return {
    issuer,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // close() alone waits for keep-alive sockets held by fetch's connection pool.
        server.closeAllConnections();
      }),
  };
}

function reportServerError(error: unknown): void {
  console.error('embedded IdP server error:', error);
}

async function configuration(options: EmbeddedIdpOptions): Promise<Configuration> {
  const accessTtl = options.accessTokenTtlSeconds ?? 3600;
  return {
    adapter: createIdpMemoryAdapter(),
    clients: options.clients.map(clientMetadata),
    jwks: { keys: [await signingKey()] },
    // Cookies are signed; their Secure flag follows the request, so they work on plain http loopback.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => accountClaims(sub) }),
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    // Put the scope-derived claims in the ID token too, so a client need not call userinfo.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // Revocation (RFC 7009), so the proxy's /revoke reaches the provider as it does with real IdPs.
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 7009 §2.1: a client revokes only its own tokens (explicit, or the provider prints a notice).
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Without offline_access (dropped unless prompt=consent) tokens would die with the IdP browser
    // session; real IdPs keep refresh tokens alive, and so must this one for refresh tests.
    expiresWithSession: () => false,
    loadExistingGrant: approveRequestedScopes,
    // Explicit TTLs: each default that is left in place prints a "you SHOULD change" notice.
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: accessTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      Interaction: 600,
      Session: 24 * 3600,
    },
    renderError: (ctx, out) => {
      ctx.type = 'text/plain';
      ctx.body = Object.entries(out)
        .map(([key, value]) => `${key}: ${String(value)}`)
        .join('\n');
    },
  };
}

function clientMetadata(client: EmbeddedIdpClient): ClientMetadata {
  const grantTypes = client.grant_types ?? ['authorization_code', 'refresh_token'];
  return {
    client_id: client.client_id,
    ...(client.client_secret === undefined ? {} : { client_secret: client.client_secret }),
    redirect_uris: client.redirect_uris,
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    // oidc-provider rejects an unknown method when it is constructed, with a message naming the client.
    token_endpoint_auth_method: (client.token_endpoint_auth_method ??
      (client.client_secret ? 'client_secret_basic' : 'none')) as ClientMetadata['token_endpoint_auth_method'],
  };
}

function accountClaims(sub: string) {
  return {
    sub,
    email: `${sub}@example.test`,
    email_verified: true,
    name: sub.charAt(0).toUpperCase() + sub.slice(1),
    // Everyone is in "users"; names starting with "admin" are also in "admins", for policy demos and tests.
    groups: sub.startsWith('admin') ? ['users', 'admins'] : ['users'],
  };
}

/** Stands in for the IdP's consent screen: the signed-in user grants whatever the client asked for. */
async function approveRequestedScopes(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const clientId = oidc.client!.clientId;
  const existingId = oidc.result?.consent?.grantId ?? oidc.session!.grantIdFor(clientId);
  const grant =
    (existingId ? await oidc.provider.Grant.find(existingId) : undefined) ??
    new oidc.provider.Grant({ clientId, accountId: oidc.session!.accountId });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  grant.addOIDCClaims([...oidc.requestParamClaims]);
  await grant.save();
  return grant;
}

/** A fresh RSA key per IdP: ID tokens default to RS256, and the built-in dev keys come with a warning. */
async function signingKey() {
  const { privateKey } = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const { kty, n, e, d, p, q, dp, dq, qi } = await crypto.subtle.exportKey('jwk', privateKey);
  return { kty, n, e, d, p, q, dp, dq, qi, kid: `embedded-${randomBytes(4).toString('hex')}`, use: 'sig' };
}

let providerModule: Promise<typeof Provider> | undefined;

/**
 * oidc-provider 9 warns at import time that Node 20 is unsupported. This project targets Node 20
 * and the IdP is a dev tool, so that one line is dropped; every other warning still prints.
 */
function importProviderQuietly(): Promise<typeof Provider> {
  providerModule ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
      warn(...args);
    };
    try {
      return (await import('oidc-provider')).default;
    } finally {
      console.warn = warn;
    }
  })();
  return providerModule;
}
