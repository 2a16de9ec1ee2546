import { ENV_BINDINGS, configInputFromEnv } from './env.js';
import { configSchema } from './schema.js';

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

function describeDefault(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (Array.isArray(value)) return value.length === 0 ? '(empty)' : `\`${value.join(' ')}\``;
  return `\`${String(value)}\``;
}

/** The README configuration table, generated from the bindings and the schema's defaults. */
export function configTableMarkdown(): string {
  const defaults = configSchema.parse(configInputFromEnv(MINIMAL_ENV));
  const rows = ENV_BINDINGS.map((binding) => {
    const fallback = REQUIRED_NOTE[binding.name] ?? describeDefault(valueAt(defaults, binding.path));
    const secret = binding.secret ? ' Secret: never printed.' : '';
    return `| \`${binding.name}\` | ${fallback} | ${binding.description}${secret} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}
