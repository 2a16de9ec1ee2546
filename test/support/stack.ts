import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Clock } from '../../src/domain/clock.js';
import { startDemoMcpServer, type DemoMcpServer } from '../../src/dev/demo-mcp-server.js';
import { startEmbeddedIdp, type EmbeddedIdp, type EmbeddedIdpClient, type EmbeddedIdpOptions } from '../../src/dev/embedded-idp.js';
import { createAuditLog } from '../../src/observability/audit.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { startNodeProxy, type RunningProxy } from '../../src/runtime/node.js';
import { reservePort } from './ports.js';
import { TEST_KEY_A } from './deps.js';

export interface StackOptions {
  readonly keys?: string;
  readonly downstreamAuth?: 'upstream-token' | 'identity-headers';
  readonly upstreamAccessTokenTtl?: number;
  readonly clock?: Clock;
  /** More clients of the embedded identity provider (a client_credentials client, say). */
  readonly idpClients?: EmbeddedIdpClient[];
  /** Grant types of the proxy's own client at the embedded identity provider, beyond authorization_code and refresh_token. */
  readonly proxyGrantTypes?: string[];
  /** Extends the embedded identity provider (a further grant type, say). */
  readonly extendIdp?: EmbeddedIdpOptions['extend'];
  /** Put another downstream behind the proxy instead of the demo MCP server. */
  readonly downstreamUrl?: string;
  /** Runs before the proxy starts, knowing its public URL: starts extra servers, returns extra settings and how to stop them. */
  readonly prepare?: (publicUrl: string) => Promise<{ extra: Record<string, unknown>; close: () => Promise<void> }>;
  /** Several routes, built from the demo MCP server's URL. */
  readonly routesFromDemo?: (demoUrl: string) => Array<Record<string, unknown>>;
  readonly extra?: Record<string, unknown>;
}

/** Log lines of a stack, kept for assertions (e.g. that no secret was logged). */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger = createLogger({ level: 'debug', write: (line) => this.lines.push(line) });
  /** Audit events, parsed. Their lines also go to `lines`, so secret scans see them. */
  readonly auditEvents: Array<Record<string, unknown>> = [];
  readonly audit = createAuditLog((line) => {
    this.lines.push(line);
    this.auditEvents.push(JSON.parse(line) as Record<string, unknown>);
  }, Date.now);
}

/**
 * The real thing on loopback: node oidc-provider upstream, the SDK demo MCP
 * server downstream, and the proxy between them on a real port.
 */
export class Stack {
  private constructor(
    readonly idp: EmbeddedIdp,
    readonly demo: DemoMcpServer,
    readonly proxies: RunningProxy[],
    readonly publicUrl: string,
    readonly config: Config,
    readonly logs: LogCapture,
    /** The raw settings the first instance was started with, for siblings to start from. */
    private readonly input: Record<string, unknown>,
  ) {}

  get mcpUrl(): string {
    return `${this.publicUrl}/mcp`;
  }

  static async start(options: StackOptions = {}): Promise<Stack> {
    // Held while the identity provider and the MCP server start, which takes long enough for another socket to take a port let go early.
    const reserved = await reservePort();
    try {
      return await Stack.startOn(reserved, options);
    } finally {
      await reserved.release();
    }
  }

  private static async startOn(reserved: { port: number; release(): Promise<void> }, options: StackOptions): Promise<Stack> {
    const port = reserved.port;
    const publicUrl = `http://127.0.0.1:${port}`;
    const idp = await startEmbeddedIdp({
      clients: [
        {
          client_id: 'proxy',
          client_secret: 'proxy-upstream-secret',
          redirect_uris: [`${publicUrl}/oauth/callback`],
          grant_types: ['authorization_code', 'refresh_token', ...(options.proxyGrantTypes ?? [])],
        },
        ...(options.idpClients ?? []),
      ],
      ...(options.extendIdp ? { extend: options.extendIdp } : {}),
      ...(options.upstreamAccessTokenTtl ? { accessTokenTtlSeconds: options.upstreamAccessTokenTtl } : {}),
    });
    const demo = await startDemoMcpServer();
    const prepared = await options.prepare?.(publicUrl);
    const input = {
      keys: options.keys ?? TEST_KEY_A,
      publicUrl,
      port,
      upstream: {
        issuer: idp.issuer,
        clientId: 'proxy',
        clientSecret: 'proxy-upstream-secret',
        scopes: 'openid email profile offline_access',
      },
      // Route settings may name the embedded IdP's endpoints as IDP/…
      routes: (options.routesFromDemo?.(demo.url) as Array<Record<string, unknown>> | undefined)?.map((route) =>
        Object.fromEntries(Object.entries(route).map(([key, value]) => [key, typeof value === 'string' ? value.replace(/^IDP\//, `${idp.issuer}/`) : value])),
      ) ?? [
        { url: options.downstreamUrl ?? demo.url, auth: options.downstreamAuth ?? 'upstream-token', timeout: 2 },
      ],
      // Tests register far more clients than an operator's limit allows.
      registration: { perMinute: 10_000 },
      clientMetadataDocuments: {},
      ttl: {},
      ...options.extra,
      ...prepared?.extra,
    };
    const config = parseConfig(input);
    const logs = new LogCapture();
    await reserved.release();
    const proxy = await startNodeProxy(config, logs.logger, { ...(options.clock ? { clock: options.clock } : {}), audit: logs.audit });
    const stack = new Stack(idp, demo, [proxy], publicUrl, config, logs, input);
    if (prepared) stack.closers.push(prepared.close);
    return stack;
  }

  /** Another instance with the same configuration on its own port, as behind a load balancer. */
  async startSibling(overrides: { keys?: string; clock?: Clock; settings?: Record<string, unknown> } = {}): Promise<{ url: string; proxy: RunningProxy }> {
    const config = parseConfig({ ...this.input, ...(overrides.keys ? { keys: overrides.keys } : {}), ...overrides.settings, port: 0 });
    const proxy = await startNodeProxy(config, this.logs.logger, { ...(overrides.clock ? { clock: overrides.clock } : {}), audit: this.logs.audit });
    this.proxies.push(proxy);
    return { url: proxy.listenUrl, proxy };
  }

  private readonly closers: Array<() => Promise<void>> = [];

  async close(): Promise<void> {
    await Promise.allSettled(this.proxies.map((proxy) => proxy.close(100)));
    await Promise.allSettled([this.idp.close(), this.demo.close(), ...this.closers.map((close) => close())]);
    this.assertNoSecretLogged();
  }

  /**
   * Every suite that runs a stack ends with this scan of everything its proxies logged and
   * audited: no configured secret, and nothing shaped like a capsule (a token, code or client_id).
   */
  private assertNoSecretLogged(): void {
    const secrets: string[] = [];
    const collect = (value: unknown, key = ''): void => {
      if (typeof value === 'string' && /secret|apikey|^keys$/i.test(key) && value.length >= 8) secrets.push(...value.split(','));
      else if (Array.isArray(value)) value.forEach((item) => collect(item, key));
      else if (value && typeof value === 'object') for (const [name, item] of Object.entries(value)) collect(item, name);
    };
    collect(this.input);
    const log = this.logs.lines.join('\n');
    const leaked = secrets.filter((secret) => log.includes(secret));
    const capsule = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.exec(log);
    if (leaked.length > 0 || capsule) {
      throw new Error(`a secret reached the log: ${leaked.length} configured secret(s)${capsule ? ' and a capsule' : ''}`);
    }
  }
}
