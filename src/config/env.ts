import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export interface EnvBinding {
  /** The environment variable operators set. */
  readonly name: string;
  /** Where its value lands in the config schema. */
  readonly path: readonly string[];
  readonly secret?: boolean;
  readonly description: string;
}

/**
 * Every environment variable the proxy reads. The README configuration table
 * is checked against this list and against the schema by a test.
 */
export const ENV_BINDINGS: readonly EnvBinding[] = [
  { name: 'CAPSULE_KEYS', path: ['keys'], secret: true, description: 'Comma-separated 32-byte keys (base64 or base64url), newest first. The first seals; all open. `mcp-capsule keygen` prints one.' },
  { name: 'CAPSULE_PUBLIC_URL', path: ['publicUrl'], description: 'External origin of the proxy, used as the OAuth issuer. Never taken from the Host header.' },
  { name: 'HOST', path: ['host'], description: 'Interface to listen on.' },
  { name: 'PORT', path: ['port'], description: 'Port to listen on.' },
  { name: 'CAPSULE_LOG_LEVEL', path: ['logLevel'], description: 'debug, info, warn or error.' },
  { name: 'CAPSULE_UPSTREAM_PROVIDER', path: ['upstream', 'provider'], description: 'Upstream identity provider preset.' },
  { name: 'CAPSULE_UPSTREAM_ISSUER', path: ['upstream', 'issuer'], description: 'Issuer of the upstream OpenID Connect provider (discovery).' },
  { name: 'CAPSULE_UPSTREAM_AUTHORIZATION_URL', path: ['upstream', 'authorizationUrl'], description: 'Upstream authorization endpoint, when there is no discovery.' },
  { name: 'CAPSULE_UPSTREAM_TOKEN_URL', path: ['upstream', 'tokenUrl'], description: 'Upstream token endpoint, when there is no discovery.' },
  { name: 'CAPSULE_UPSTREAM_USERINFO_URL', path: ['upstream', 'userinfoUrl'], description: 'Upstream userinfo endpoint, when there is no discovery.' },
  { name: 'CAPSULE_UPSTREAM_CLIENT_ID', path: ['upstream', 'clientId'], description: "The proxy's client_id at the upstream provider." },
  { name: 'CAPSULE_UPSTREAM_CLIENT_SECRET', path: ['upstream', 'clientSecret'], secret: true, description: "The proxy's client_secret at the upstream provider." },
  { name: 'CAPSULE_UPSTREAM_SCOPES', path: ['upstream', 'scopes'], description: 'Scopes requested upstream (space- or comma-separated).' },
  { name: 'CAPSULE_UPSTREAM_TOKEN_AUTH', path: ['upstream', 'tokenAuthMethod'], description: 'client_secret_basic or client_secret_post at the upstream token endpoint.' },
  { name: 'CAPSULE_UPSTREAM_TIMEOUT', path: ['upstream', 'timeout'], description: 'How long a request to the upstream provider may take (seconds, or 10s, 1m).' },
  { name: 'CAPSULE_MCP_URL', path: ['mcp', 'url'], description: 'The downstream MCP server. The proxy serves it at the same path.' },
  { name: 'CAPSULE_DOWNSTREAM_AUTH', path: ['mcp', 'auth'], description: 'Credential the downstream receives: upstream-token or identity-headers.' },
  { name: 'CAPSULE_DOWNSTREAM_TIMEOUT', path: ['mcp', 'timeout'], description: "How long to wait for the downstream's response headers (seconds, or 30s, 2m)." },
  { name: 'CAPSULE_SCOPES', path: ['scopes'], description: 'Scopes the proxy offers MCP clients (advertised in both metadata documents).' },
  { name: 'CAPSULE_REDIRECT_SCHEMES', path: ['redirectSchemes'], description: 'Private-use redirect URI schemes of native clients accepted by exact match.' },
  { name: 'CAPSULE_ACCESS_TOKEN_TTL', path: ['ttl', 'accessToken'], description: 'Lifetime of access tokens.' },
  { name: 'CAPSULE_REFRESH_TOKEN_TTL', path: ['ttl', 'refreshToken'], description: 'Lifetime of refresh tokens (renewed on each rotation).' },
  { name: 'CAPSULE_CODE_TTL', path: ['ttl', 'authorizationCode'], description: 'Lifetime of authorization codes.' },
  { name: 'CAPSULE_TRANSACTION_TTL', path: ['ttl', 'transaction'], description: 'Time a user has to finish consent and the upstream login.' },
  { name: 'CAPSULE_CONSENT_TTL', path: ['ttl', 'consent'], description: 'How long a browser remembers an approved client.' },
];

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    node = (node[segment] ??= {}) as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

/** Builds the raw config input from environment variables; empty values count as unset. */
export function configInputFromEnv(env: Env): Record<string, unknown> {
  const input: Record<string, unknown> = { upstream: {}, mcp: {}, ttl: {} };
  for (const binding of ENV_BINDINGS) {
    const value = env[binding.name];
    if (value !== undefined && value.trim() !== '') setPath(input, binding.path, value.trim());
  }
  return input;
}

function bindingFor(path: readonly PropertyKey[]): EnvBinding | undefined {
  return ENV_BINDINGS.find((binding) => binding.path.every((segment, i) => path[i] === segment));
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node = input;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) return 'is required';
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `must be one of ${(issue.values as unknown[]).join(', ')}`;
  }
  return issue.message;
}

/** One line per problem, each naming the variable (or config path) at fault. */
export function formatConfigIssues(
  error: z.ZodError,
  input: unknown,
  nameFor = (path: readonly PropertyKey[]) => bindingFor(path)?.name,
): string[] {
  return error.issues.map((issue) => {
    const name = nameFor(issue.path) ?? (issue.path.join('.') || 'configuration');
    return `${name}: ${describeIssue(issue, input)}`;
  });
}

export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(formatConfigIssues(result.error, input));
  return result.data;
}

export function loadConfigFromEnv(env: Env): Config {
  return parseConfig(configInputFromEnv(env));
}
