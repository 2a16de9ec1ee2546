import { s256Challenge } from '../../src/crypto/pkce.js';
import { Browser, driveLogin } from './browser.js';

export const CLIENT_REDIRECT = 'http://127.0.0.1:1/callback';

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: string;
  redirect_uris: string[];
  [name: string]: unknown;
}

export async function register(baseUrl: string, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const response = await fetch(`${baseUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Flow Test Client',
      redirect_uris: [CLIENT_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as RegisteredClient;
}

export const VERIFIER = 'a-test-code-verifier-that-is-long-enough-for-pkce-0123456789';

export async function authorizeUrl(baseUrl: string, client: RegisteredClient, extra: Record<string, string | undefined> = {}): Promise<URL> {
  const url = new URL(`${baseUrl}/authorize`);
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    code_challenge: await s256Challenge(VERIFIER),
    code_challenge_method: 'S256',
    state: 'client-state-123',
    resource: `${baseUrl}/mcp`,
    ...extra,
  };
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url;
}

/** Runs /authorize through consent and the upstream login; returns the client's callback URL. */
export async function signIn(
  baseUrl: string,
  client: RegisteredClient,
  options: { login?: string; browser?: Browser; extra?: Record<string, string | undefined>; consent?: 'approve' | 'deny' } = {},
): Promise<URL> {
  const browser = options.browser ?? new Browser();
  return driveLogin(browser, await authorizeUrl(baseUrl, client, options.extra), {
    login: options.login ?? 'alice',
    stopAt: (url) => url.href.startsWith(client.redirect_uris[0]!.replace(/:\d+\//, ':')) || url.href.startsWith(client.redirect_uris[0]!),
    onConsentPage: () => ({ name: 'decision', value: options.consent ?? 'approve' }),
  });
}

export async function tokenRequest(
  baseUrl: string,
  params: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) form.set(name, value);
  const response = await fetch(`${baseUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form.toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

export async function redeemCode(baseUrl: string, client: RegisteredClient, code: string, extra: Record<string, string | undefined> = {}) {
  return tokenRequest(baseUrl, {
    grant_type: 'authorization_code',
    code,
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    code_verifier: VERIFIER,
    resource: `${baseUrl}/mcp`,
    ...extra,
  });
}

/** Signs `login` in with `client` for a route (`/mcp` by default) and redeems the code: an access token for that route. */
export async function accessTokenFor(baseUrl: string, client: RegisteredClient, options: { login: string; route?: string }): Promise<string> {
  const resource = `${baseUrl}${options.route ?? '/mcp'}`;
  const callback = await signIn(baseUrl, client, { login: options.login, extra: { resource } });
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`sign-in failed: ${callback.href}`);
  const tokens = await redeemCode(baseUrl, client, code, { resource });
  if (tokens.status !== 200) throw new Error(`code redemption failed: ${tokens.status}`);
  return tokens.body.access_token as string;
}

/** A JSON-RPC call to the MCP endpoint with a bearer token; returns the raw response. */
export async function mcpPost(mcpUrl: string, token: string | undefined, body: unknown = initializeRequest(), headers: Record<string, string> = {}) {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

export function initializeRequest(id = 1) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-test', version: '1' } },
  };
}
