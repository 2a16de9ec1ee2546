import { ENV_BINDINGS, configInputFromEnv } from './env.js';
import { PRESET_DOCS, UPSTREAM_PROVIDERS, type UpstreamProvider } from '../upstream/presets.js';
import { routeSchema } from './routes.js';
import { configSchema } from './schema.js';
import { objectsOf } from './tagged-union.js';

// The least an operator must set; everything else shows the schema's own default.
const MINIMAL_ENV = {
  CAPSULE_KEYS: 'A'.repeat(43),
  CAPSULE_PUBLIC_URL: 'https://mcp.example.com',
  CAPSULE_UPSTREAM_ISSUER: 'https://idp.example.com',
  CAPSULE_UPSTREAM_CLIENT_ID: 'client',
  CAPSULE_MCP_URL: 'http://127.0.0.1:3000/mcp',
};

const REQUIRED_NOTE: Record<string, string> = {
  CAPSULE_KEYS: 'required',
  CAPSULE_PUBLIC_URL: 'required',
  CAPSULE_UPSTREAM_ISSUER: 'required for oidc',
  CAPSULE_CONFIG: '(unset)',
  CAPSULE_UPSTREAM_CLIENT_ID: 'required',
  CAPSULE_MCP_URL: 'required, unless the config file declares routes',
};

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], root);
}

/** A route setting the minimal route's mode lacks takes its default from the modes that have it. */
function defaultAt(defaults: unknown, path: readonly (string | number)[]): unknown {
  const value = valueAt(defaults, path);
  if (value !== undefined || path[0] !== 'routes' || path.length !== 3) return value;
  for (const mode of objectsOf(routeSchema.in)) {
    const fallback = mode.shape[path[2]!]?.safeParse(undefined);
    if (fallback?.success && fallback.data !== undefined) return fallback.data;
  }
  return undefined;
}

function describeDefault(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (Array.isArray(value)) return value.length === 0 ? '(empty)' : `\`${value.join(' ')}\``;
  return `\`${String(value)}\``;
}

/** The README configuration table, generated from the bindings and the schema's defaults. */
export function configTableMarkdown(): string {
  const defaults = configSchema.parse(configInputFromEnv(MINIMAL_ENV));
  const rows = ENV_BINDINGS.map((binding) => {
    const fallback = REQUIRED_NOTE[binding.name] ?? describeDefault(defaultAt(defaults, binding.path));
    const secret = binding.secret ? ' Secret: never printed.' : '';
    return `| \`${binding.name}\` | ${fallback} | ${binding.description}${secret} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

export const PROVIDER_EXAMPLES: Readonly<Record<UpstreamProvider, string>> = {
  oidc: 'CAPSULE_UPSTREAM_PROVIDER=oidc\nCAPSULE_UPSTREAM_ISSUER=https://login.example.com/realms/main\nCAPSULE_UPSTREAM_CLIENT_ID=mcp-capsule\nCAPSULE_UPSTREAM_CLIENT_SECRET=...\nCAPSULE_UPSTREAM_SCOPES="openid email profile offline_access"',
  google: 'CAPSULE_UPSTREAM_PROVIDER=google\nCAPSULE_UPSTREAM_CLIENT_ID=1234-abc.apps.googleusercontent.com\nCAPSULE_UPSTREAM_CLIENT_SECRET=...',
  microsoft: 'CAPSULE_UPSTREAM_PROVIDER=microsoft\nCAPSULE_UPSTREAM_TENANT=00000000-0000-0000-0000-000000000000\nCAPSULE_UPSTREAM_CLIENT_ID=...\nCAPSULE_UPSTREAM_CLIENT_SECRET=...',
  github: 'CAPSULE_UPSTREAM_PROVIDER=github\nCAPSULE_UPSTREAM_CLIENT_ID=Ov23li...\nCAPSULE_UPSTREAM_CLIENT_SECRET=...',
  oauth2: 'CAPSULE_UPSTREAM_PROVIDER=oauth2\nCAPSULE_UPSTREAM_AUTHORIZATION_URL=https://auth.example.com/oauth/authorize\nCAPSULE_UPSTREAM_TOKEN_URL=https://auth.example.com/oauth/token\nCAPSULE_UPSTREAM_USERINFO_URL=https://api.example.com/me\nCAPSULE_UPSTREAM_CLAIMS="subject=data.id email=data.email name=data.name groups=data.teams"\nCAPSULE_UPSTREAM_SCOPES="profile"\nCAPSULE_UPSTREAM_CLIENT_ID=...\nCAPSULE_UPSTREAM_CLIENT_SECRET=...',
};

/** The README's identity provider sections, generated from the presets so they cannot drift. */
export function providerSectionsMarkdown(): string {
  return UPSTREAM_PROVIDERS.map((provider) => {
    const doc = PRESET_DOCS[provider];
    const params = Object.entries(doc.authParams).map(([name, value]) => `\`${name}=${value}\``);
    return [
      `### ${doc.title} (\`${provider}\`)`,
      '',
      `Setup: ${doc.callbackNote}`,
      '',
      `Scopes requested: ${doc.scopes.length ? doc.scopes.map((scope) => `\`${scope}\``).join(' ') : 'none by default'}.${params.length ? ` Authorization parameters: ${params.join(' ')}.` : ''}`,
      '',
      ...doc.notes.map((note) => `- ${note}`),
      '',
      '```sh',
      PROVIDER_EXAMPLES[provider],
      '```',
    ].join('\n');
  }).join('\n\n');
}
