import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { Browser, driveLogin } from './browser.js';

export interface TestClientOptions {
  readonly login: string;
  readonly browser?: Browser;
  /** Where the client says it listens; nothing does, the browser stops there. */
  readonly redirectUrl?: string;
  readonly metadata?: Partial<OAuthClientMetadata>;
  readonly consent?: 'approve' | 'deny';
}

/**
 * The SDK's OAuthClientProvider as an MCP client application implements it,
 * with a headless browser standing in for the user.
 */
export class TestOAuthProvider implements OAuthClientProvider {
  readonly browser: Browser;
  readonly redirectUrl: string;
  readonly clientMetadata: OAuthClientMetadata;
  savedClient: OAuthClientInformationMixed | undefined;
  savedTokens: OAuthTokens | undefined;
  private verifier = '';
  /** Every authorization URL the SDK opened and where the browser ended up. */
  readonly authorizations: Array<{ authorizationUrl: URL; callback: URL }> = [];

  constructor(private readonly options: TestClientOptions) {
    this.browser = options.browser ?? new Browser();
    this.redirectUrl = options.redirectUrl ?? 'http://127.0.0.1:1/callback';
    this.clientMetadata = {
      client_name: 'Integration Test Client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...options.metadata,
    };
  }

  clientInformation() {
    return this.savedClient;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.savedClient = info;
  }
  tokens() {
    return this.savedTokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.savedTokens = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }

  async redirectToAuthorization(authorizationUrl: URL) {
    const callback = await driveLogin(this.browser, authorizationUrl, {
      login: this.options.login,
      stopAt: (url) => url.href.startsWith(this.redirectUrl),
      onConsentPage: () => ({ name: 'decision', value: this.options.consent ?? 'approve' }),
    });
    this.authorizations.push({ authorizationUrl, callback });
  }

  get lastCallback(): URL | undefined {
    return this.authorizations.at(-1)?.callback;
  }
}

export interface ConnectedClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
}

async function connectOnce(mcpUrl: string, provider: TestOAuthProvider): Promise<ConnectedClient> {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const client = new Client({ name: 'mcp-capsule-tests', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** Connects like an MCP application: on 401 the SDK discovers, registers and authorizes; then it reconnects. */
export async function connectWithOAuth(mcpUrl: string, provider: TestOAuthProvider): Promise<ConnectedClient> {
  try {
    return await connectOnce(mcpUrl, provider);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  const callback = provider.lastCallback;
  const code = callback?.searchParams.get('code');
  if (!code) throw new Error(`authorization did not return a code: ${callback?.href ?? 'no callback'}`);
  const finishing = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await finishing.finishAuth(code);
  return connectOnce(mcpUrl, provider);
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((part) => part.text ?? '').join('');
}

/** Calls the demo server's `countdown` tool (progress over SSE): its result and the progress events in order. */
export async function countdownWithProgress(client: Client): Promise<{ text: string; progress: number[] }> {
  const progress: number[] = [];
  const result = await client.callTool({ name: 'countdown', arguments: { from: 3, delayMs: 150 } }, undefined, {
    onprogress: (event) => progress.push(event.progress),
  });
  return { text: textOf(result), progress };
}

/**
 * Starts a countdown far longer than any test's timeout (10 steps of 5 s), waits for its first
 * progress event, then cancels the call. Delivery that buffered the stream would hold that event
 * until the end, so its arrival (with the call still running) shows events are streamed as they happen.
 */
export async function firstProgressOfALongCountdown(client: Client): Promise<{ progress: number; callSettled: boolean }> {
  const cancel = new AbortController();
  let reportFirst!: (progress: number) => void;
  const first = new Promise<number>((resolve) => (reportFirst = resolve));
  let callSettled = false;
  const call = client
    .callTool({ name: 'countdown', arguments: { from: 10, delayMs: 5_000 } }, undefined, { onprogress: (event) => reportFirst(event.progress), signal: cancel.signal })
    .finally(() => (callSettled = true));
  const progress = await first;
  const settledAtFirst = callSettled;
  cancel.abort();
  await call.catch(() => undefined);
  return { progress, callSettled: settledAtFirst };
}

/** Signs `login` in with the SDK client and calls the demo server's `whoami`: the bearer token the MCP server received, if any. */
export async function bearerSeenByServer(mcpUrl: string, login: string): Promise<string | undefined> {
  const { client } = await connectWithOAuth(mcpUrl, new TestOAuthProvider({ login }));
  try {
    const seen = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as { authorization?: string | null };
    return /^Bearer (\S+)$/.exec(seen.authorization ?? '')?.[1];
  } finally {
    await client.close();
  }
}
