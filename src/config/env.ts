export interface EnvBinding {
  /** The environment variable operators set. */
  readonly name: string;
  /** Where its value lands in the config schema. */
  readonly path: readonly (string | number)[];
  readonly secret?: boolean;
  readonly description: string;
}

/**
 * Every environment variable the proxy reads. The README configuration table
 * is generated from this list and the schema's defaults, and a test keeps them equal.
 */
export const ENV_BINDINGS: readonly EnvBinding[] = [
  { name: 'CAPSULE_CONFIG', path: [], description: 'Path of a JSON or YAML configuration file (routes, clients, further upstreams). Environment variables override its settings.' },
  { name: 'CAPSULE_KEYS', path: ['keys'], secret: true, description: 'Comma-separated 32-byte keys (base64 or base64url), newest first. The first seals; all open. `mcp-capsule keygen` prints one.' },
  { name: 'CAPSULE_PUBLIC_URL', path: ['publicUrl'], description: 'External origin of the proxy, used as the OAuth issuer. Never taken from the Host header.' },
  { name: 'HOST', path: ['host'], description: 'Interface to listen on.' },
  { name: 'PORT', path: ['port'], description: 'Port to listen on.' },
  { name: 'CAPSULE_LOG_LEVEL', path: ['logLevel'], description: 'debug, info, warn or error.' },
  { name: 'CAPSULE_UPSTREAM_PROVIDER', path: ['upstream', 'provider'], description: 'Identity provider preset: oidc (any provider by discovery), google, microsoft, github, or oauth2 (endpoints given by hand).' },
  { name: 'CAPSULE_UPSTREAM_ISSUER', path: ['upstream', 'issuer'], description: 'Issuer for OpenID Connect discovery. Required for oidc; overrides the google and microsoft presets; for oauth2, the expected `iss` of callbacks.' },
  { name: 'CAPSULE_UPSTREAM_TENANT', path: ['upstream', 'tenant'], description: 'microsoft: the Entra tenant ID (GUID) or verified domain. common, organizations and consumers are refused.' },
  { name: 'CAPSULE_UPSTREAM_AUTHORIZATION_URL', path: ['upstream', 'authorizationUrl'], description: 'Authorization endpoint: required for oauth2, an override otherwise.' },
  { name: 'CAPSULE_UPSTREAM_TOKEN_URL', path: ['upstream', 'tokenUrl'], description: 'Token endpoint: required for oauth2, an override otherwise.' },
  { name: 'CAPSULE_UPSTREAM_USERINFO_URL', path: ['upstream', 'userinfoUrl'], description: 'Userinfo endpoint: required for oauth2, an override for OpenID presets.' },
  { name: 'CAPSULE_UPSTREAM_API_URL', path: ['upstream', 'apiUrl'], description: 'github: the REST API base, for GitHub Enterprise Server.' },
  { name: 'CAPSULE_UPSTREAM_AUTH_PARAMS', path: ['upstream', 'authParams'], description: 'Extra authorization request parameters, as `prompt=consent&hd=example.com`; an empty value removes a preset parameter.' },
  { name: 'CAPSULE_UPSTREAM_CLAIMS', path: ['upstream', 'claims'], description: 'oidc and oauth2: claim names for the identity, as `subject=sub email=mail groups=roles` (dotted paths allowed).' },
  { name: 'CAPSULE_UPSTREAM_CLIENT_ID', path: ['upstream', 'clientId'], description: "The proxy's client_id at the upstream provider." },
  { name: 'CAPSULE_UPSTREAM_CLIENT_SECRET', path: ['upstream', 'clientSecret'], secret: true, description: "The proxy's client_secret at the upstream provider." },
  { name: 'CAPSULE_UPSTREAM_SCOPES', path: ['upstream', 'scopes'], description: 'Scopes requested upstream (space- or comma-separated); the default depends on the provider.' },
  { name: 'CAPSULE_UPSTREAM_TOKEN_AUTH', path: ['upstream', 'tokenAuthMethod'], description: 'client_secret_basic or client_secret_post at the upstream token endpoint; the default depends on the provider.' },
  { name: 'CAPSULE_UPSTREAM_TIMEOUT', path: ['upstream', 'timeout'], description: 'How long a request to the upstream provider may take (seconds, or 10s, 1m).' },
  { name: 'CAPSULE_MCP_URL', path: ['routes', 0, 'url'], description: 'The downstream MCP server (single-route setup). The proxy serves it at the same path.' },
  { name: 'CAPSULE_DOWNSTREAM_AUTH', path: ['routes', 0, 'auth'], description: 'Credential the downstream receives: upstream-token, identity-headers, api-key, client-credentials, token-exchange, entra-obo, pat or none.' },
  { name: 'CAPSULE_DOWNSTREAM_TIMEOUT', path: ['routes', 0, 'timeout'], description: "How long to wait for the downstream's response headers (seconds, or 30s, 2m)." },
  { name: 'CAPSULE_DOWNSTREAM_HEADER', path: ['routes', 0, 'header'], description: 'api-key and pat: the outbound header; Authorization gets a `Bearer ` prefix, any other header the raw value.' },
  { name: 'CAPSULE_DOWNSTREAM_API_KEY', path: ['routes', 0, 'apiKey'], secret: true, description: 'api-key: the static secret sent to the downstream.' },
  { name: 'CAPSULE_DOWNSTREAM_TOKEN_URL', path: ['routes', 0, 'tokenUrl'], description: "client-credentials: the token endpoint. token-exchange and entra-obo: replaces the upstream provider's." },
  { name: 'CAPSULE_DOWNSTREAM_CLIENT_ID', path: ['routes', 0, 'clientId'], description: "client-credentials: the proxy's client_id there. token-exchange and entra-obo: a client other than the proxy's upstream one (with its secret)." },
  { name: 'CAPSULE_DOWNSTREAM_CLIENT_SECRET', path: ['routes', 0, 'clientSecret'], secret: true, description: "client-credentials, token-exchange and entra-obo: the client_secret of CAPSULE_DOWNSTREAM_CLIENT_ID." },
  { name: 'CAPSULE_DOWNSTREAM_SCOPES', path: ['routes', 0, 'scopes'], description: 'client-credentials and token-exchange: scopes to request. entra-obo: required, such as `api://<app>/.default`.' },
  { name: 'CAPSULE_DOWNSTREAM_TOKEN_AUTH', path: ['routes', 0, 'tokenAuth'], description: "client-credentials: client_secret_basic or client_secret_post. token-exchange and entra-obo: the upstream client's unless set." },
  { name: 'CAPSULE_DOWNSTREAM_AUDIENCE', path: ['routes', 0, 'audience'], description: "token-exchange: the `audience` to request (RFC 8693), such as the MCP server's client_id at the provider." },
  { name: 'CAPSULE_DOWNSTREAM_RESOURCE', path: ['routes', 0, 'resource'], description: 'token-exchange: the `resource` to request (RFC 8693), an absolute URI.' },
  { name: 'CAPSULE_DOWNSTREAM_SUBJECT_TOKEN', path: ['routes', 0, 'subjectToken'], description: "token-exchange: the user's upstream token sent as `subject_token`: access_token or id_token." },
  { name: 'CAPSULE_DOWNSTREAM_CREDENTIALS_FROM', path: ['routes', 0, 'credentialsFrom'], description: "client-credentials: config (the proxy's client) or request (each MCP client sends X-Client-Id and X-Client-Secret)." },
  { name: 'CAPSULE_DOWNSTREAM_PAT_HEADER', path: ['routes', 0, 'patHeader'], description: "pat: the request header carrying the client's own token." },
  { name: 'CAPSULE_ALLOW_EMAILS', path: ['routes', 0, 'policy', 'emails'], description: 'Users allowed by verified email (comma-separated). With no allow list at all, every signed-in user is allowed.' },
  { name: 'CAPSULE_ALLOW_EMAIL_DOMAINS', path: ['routes', 0, 'policy', 'emailDomains'], description: 'Users allowed by the domain of their verified email.' },
  { name: 'CAPSULE_ALLOW_GROUPS', path: ['routes', 0, 'policy', 'groups'], description: "Users allowed by upstream group (the provider's groups claim, see CAPSULE_UPSTREAM_CLAIMS)." },
  { name: 'CAPSULE_ALLOW_SUBJECTS', path: ['routes', 0, 'policy', 'subjects'], description: 'Users allowed by upstream subject (user ID).' },
  { name: 'CAPSULE_TOOLS_DISABLED', path: ['routes', 0, 'tools', 'disabled'], description: 'Tools to hide and refuse: names and `*` globs, comma-separated.' },
  { name: 'CAPSULE_ALLOWED_ORIGINS', path: ['routes', 0, 'allowedOrigins'], description: 'Browser origins (`Origin` header) allowed on the MCP route: origins such as https://app.example.com, `null`, or `*` for any. Unset, the default depends on the credential mode (see Allowed origins).' },
  { name: 'CAPSULE_DYNAMIC_REGISTRATION', path: ['registration', 'dynamic'], description: 'Open dynamic client registration at /register (true or false).' },
  { name: 'CAPSULE_REGISTRATION_RATE_LIMIT', path: ['registration', 'perMinute'], description: 'Registrations accepted per client address per minute.' },
  { name: 'CAPSULE_CLIENT_METADATA_DOCUMENTS', path: ['clientMetadataDocuments', 'enabled'], description: 'Accept https URLs as client_ids (client ID metadata documents).' },
  { name: 'CAPSULE_CIMD_ALLOW_PRIVATE_NETWORK', path: ['clientMetadataDocuments', 'allowPrivateNetwork'], description: 'Development only: allow client metadata document URLs on loopback and private addresses, over http too.' },
  { name: 'CAPSULE_ID_JAG_ISSUERS', path: ['trustedIdentityIssuers', 0, 'issuer'], description: 'An enterprise identity provider (its issuer URL, compared exactly with `iss`) whose identity assertions (ID-JAG) clients may exchange for access tokens. The configuration file can list several (`trustedIdentityIssuers`).' },
  { name: 'CAPSULE_ID_JAG_JWKS_URI', path: ['trustedIdentityIssuers', 0, 'jwksUri'], description: "The key set of CAPSULE_ID_JAG_ISSUERS; without it, the one its OpenID Connect discovery document names." },
  { name: 'CAPSULE_SHUTDOWN_GRACE', path: ['shutdownGrace'], description: 'On SIGTERM, how long requests in flight may finish; open event streams end at once.' },
  { name: 'CAPSULE_AUDIT_LOG', path: ['auditLog'], description: 'Where audit events go: stdout, off, or a file path (JSON lines, appended).' },
  { name: 'CAPSULE_TRUST_PROXY_HOPS', path: ['trustProxyHops'], description: 'Reverse proxies in front of the proxy that append to X-Forwarded-For; 0 uses the socket address.' },
  { name: 'CAPSULE_SCOPES', path: ['scopes'], description: 'Scopes MCP clients may ask for, on every route without its own `scopesSupported`; the first is the basic scope, granted when a client asks for none (see Step-up authorization).' },
  { name: 'CAPSULE_REDIRECT_SCHEMES', path: ['redirectSchemes'], description: 'Private-use redirect URI schemes of native clients accepted by exact match.' },
  { name: 'CAPSULE_REDIS_URL', path: ['redis', 'url'], secret: true, description: 'Redis for the shared replay and revocation set (redis:// or rediss://). Without it the set is in memory and exact for one instance only.' },
  { name: 'CAPSULE_REDIS_KEY_PREFIX', path: ['redis', 'keyPrefix'], description: 'Prefix of every Redis key.' },
  { name: 'CAPSULE_REDIS_REQUIRED', path: ['redis', 'requiredForReady'], description: 'Fail /readyz while Redis is unreachable. By default /readyz only reports it and the proxy keeps serving with per-instance replay detection.' },
  { name: 'CAPSULE_ADMIN_TOKEN', path: ['admin', 'token'], secret: true, description: 'Bearer token for the admin API (POST /admin/revoke). The API is off when unset.' },
  { name: 'CAPSULE_METRICS', path: ['metrics', 'enabled'], description: 'Serve Prometheus metrics at /metrics.' },
  { name: 'CAPSULE_METRICS_PORT', path: ['metrics', 'port'], description: 'Serve /metrics on this port only (same host), not on the main listener.' },
  { name: 'CAPSULE_ACCESS_TOKEN_TTL', path: ['ttl', 'accessToken'], description: 'Lifetime of access tokens. Under 120 s, `check` and `serve` warn: mcp-remote refreshes whenever under 60 s are left and stops after 20 token exchanges in 30 s.' },
  { name: 'CAPSULE_REFRESH_TOKEN_TTL', path: ['ttl', 'refreshToken'], description: 'Lifetime of refresh tokens (renewed on each rotation).' },
  { name: 'CAPSULE_CODE_TTL', path: ['ttl', 'authorizationCode'], description: 'Lifetime of authorization codes.' },
  { name: 'CAPSULE_TRANSACTION_TTL', path: ['ttl', 'transaction'], description: 'Time a user has to finish consent and the upstream login.' },
  { name: 'CAPSULE_CONSENT_TTL', path: ['ttl', 'consent'], description: 'How long a browser remembers an approved client.' },
];

/**
 * obot mcp-oauth-proxy's variables, read as ours so it can be replaced without
 * touching its deployment. Ours win when both are set.
 */
export const OBOT_ALIASES: Readonly<Record<string, string>> = {
  OAUTH_CLIENT_ID: 'CAPSULE_UPSTREAM_CLIENT_ID',
  OAUTH_CLIENT_SECRET: 'CAPSULE_UPSTREAM_CLIENT_SECRET',
  OAUTH_AUTHORIZE_URL: 'CAPSULE_UPSTREAM_ISSUER',
  SCOPES_SUPPORTED: 'CAPSULE_UPSTREAM_SCOPES',
  MCP_SERVER_URL: 'CAPSULE_MCP_URL',
  ENCRYPTION_KEY: 'CAPSULE_KEYS',
};

export type Env = Readonly<Record<string, string | undefined>>;

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/** obot's MCP_SERVER_URL is a base URL it proxies every path to; its MCP endpoint is /mcp there. */
function obotMcpUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/mcp';
    return url.href;
  } catch {
    return value;
  }
}

export interface AliasedEnv {
  readonly env: Record<string, string | undefined>;
  readonly notes: string[];
  /** Whether any obot variable was read as ours. */
  readonly obot: boolean;
  /** obot's OAUTH_CLIENT_ID names the client: its registration at the provider lists obot's callback path. */
  readonly obotCallback: boolean;
}

/**
 * Applies the obot aliases; returns the environment to read and the notes to log at startup.
 * obot sent its MCP server identity headers, so a server from MCP_SERVER_URL gets them by default.
 */
export function applyEnvAliases(env: Env): AliasedEnv {
  const result: Record<string, string | undefined> = { ...env };
  const notes: string[] = [];
  const read = new Set<string>();
  for (const [alias, name] of Object.entries(OBOT_ALIASES)) {
    const value = env[alias];
    if (!isSet(value) || isSet(env[name])) continue;
    result[name] = alias === 'MCP_SERVER_URL' ? obotMcpUrl(value) : value;
    read.add(alias);
    notes.push(`${alias} is read as ${name} (obot mcp-oauth-proxy compatibility)`);
  }
  if (read.has('MCP_SERVER_URL') && !isSet(env.CAPSULE_DOWNSTREAM_AUTH)) {
    result.CAPSULE_DOWNSTREAM_AUTH = 'identity-headers';
    notes.push('CAPSULE_DOWNSTREAM_AUTH is unset: the MCP server from MCP_SERVER_URL receives X-Forwarded-User, -Email, -Name and -Access-Token, as obot sent them');
  }
  const obotCallback = read.has('OAUTH_CLIENT_ID');
  if (obotCallback) notes.push('OAUTH_CLIENT_ID is registered with obot\'s redirect URI: sign-ins return to <CAPSULE_PUBLIC_URL>/callback');
  return { env: result, notes, obot: read.size > 0, obotCallback };
}

function setPath(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target;
  path.slice(0, -1).forEach((segment, index) => {
    node = (node[segment] ??= typeof path[index + 1] === 'number' ? [] : {}) as Record<string | number, unknown>;
  });
  node[path.at(-1)!] = value;
}

/** Builds the raw config input from environment variables; empty values count as unset. */
export function configInputFromEnv(env: Env): Record<string, unknown> {
  // Nested objects exist from the start so a missing setting is reported at its own variable.
  const input: Record<string, unknown> = { upstream: {}, registration: {}, clientMetadataDocuments: {}, redis: {}, admin: {}, metrics: {}, ttl: {} };
  for (const binding of ENV_BINDINGS) {
    const value = env[binding.name];
    if (binding.path.length > 0 && isSet(value)) setPath(input, binding.path, value.trim());
  }
  return input;
}

/**
 * The environment variable that sets `path`: the one whose path it lies under, or
 * for a missing group such as `routes`, the first variable that would set it.
 */
export function bindingFor(path: readonly PropertyKey[]): EnvBinding | undefined {
  const settable = ENV_BINDINGS.filter((binding) => binding.path.length > 0);
  return (
    settable.find((binding) => binding.path.every((segment, i) => path[i] === segment)) ??
    (path.length > 0 ? settable.find((binding) => path.every((segment, i) => binding.path[i] === segment)) : undefined)
  );
}

