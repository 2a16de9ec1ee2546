import { isLoopbackHost } from '../net/loopback.js';
import { applyEnvAliases, configInputFromEnv, ENV_BINDINGS, OBOT_ALIASES, type Env } from './env.js';
import { tryUrl } from '../domain/url.js';
import { DEFAULT_PORT } from './schema.js';

/**
 * Whether `serve` runs the development setup (a local identity provider where any login
 * works, and the demo MCP server) instead of the configured proxy. Decided here alone, for
 * every runtime, from the environment and the config file together:
 *
 * - A config file, or any identity provider or MCP server setting from any source (obot's
 *   variables included), means the operator configured the proxy: never the development
 *   setup, whatever else is missing. A partial configuration is a configuration error.
 * - With nothing configured, the development setup starts, except with NODE_ENV=production
 *   or a public URL beyond this machine, where anyone could sign in through it.
 */
export type StartupDecision =
  | {
      readonly kind: 'configured';
      /** The settings that configure the proxy, as the operator spelled them. */
      readonly by: readonly string[];
      /** What the environment leaves out when there is no config file to supply it. */
      readonly missing: { readonly idp: boolean; readonly mcp: boolean };
    }
  | { readonly kind: 'development'; readonly publicUrl: string }
  | { readonly kind: 'refused'; readonly reason: string };

/** Variables that configure an identity provider (the upstream, or one whose identity assertions are trusted) or an MCP server: ours, and obot's read as ours. */
const IDP_VARIABLES = ENV_BINDINGS.filter((binding) => binding.path[0] === 'upstream' || binding.path[0] === 'trustedIdentityIssuers').map((binding) => binding.name);
const MCP_VARIABLES = ENV_BINDINGS.filter((binding) => binding.path[0] === 'routes').map((binding) => binding.name);
const aliasesOf = (names: readonly string[]) => Object.keys(OBOT_ALIASES).filter((alias) => names.includes(OBOT_ALIASES[alias]!));

const isSet = (env: Env, name: string) => (env[name] ?? '').trim() !== '';

export function decideStartup(env: Env, file: Readonly<Record<string, unknown>> | undefined): StartupDecision {
  const input = configInputFromEnv(applyEnvAliases(env).env) as { upstream: Record<string, unknown>; routes?: Array<{ url?: unknown }>; trustedIdentityIssuers?: unknown };
  if (file !== undefined || Object.keys(input.upstream).length > 0 || input.routes !== undefined || input.trustedIdentityIssuers !== undefined) {
    const by = [...IDP_VARIABLES, ...aliasesOf(IDP_VARIABLES), ...MCP_VARIABLES, ...aliasesOf(MCP_VARIABLES)].filter((name) => isSet(env, name));
    const { provider, issuer, authorizationUrl } = input.upstream;
    return {
      kind: 'configured',
      by: file !== undefined ? ['CAPSULE_CONFIG', ...by] : by,
      missing: {
        idp: file === undefined && provider === undefined && issuer === undefined && authorizationUrl === undefined,
        mcp: file === undefined && input.routes?.[0]?.url === undefined,
      },
    };
  }
  if (env.NODE_ENV === 'production') {
    return { kind: 'refused', reason: 'the development setup never starts with NODE_ENV=production: configure an identity provider and an MCP server' };
  }
  const publicUrl = env.CAPSULE_PUBLIC_URL?.trim() || `http://localhost:${env.PORT?.trim() || DEFAULT_PORT}`;
  const host = tryUrl(publicUrl)?.hostname;
  if (host === undefined || !isLoopbackHost(host)) {
    return {
      kind: 'refused',
      reason: `the development setup never starts when CAPSULE_PUBLIC_URL (${publicUrl}) is not a loopback address, because anyone could sign in through it: configure an identity provider and an MCP server`,
    };
  }
  return { kind: 'development', publicUrl };
}

/** For a configuration that leaves out the identity provider or the MCP server: why there is no development setup, and what to do. */
export function partialConfigurationHint(decision: StartupDecision): string | undefined {
  if (decision.kind !== 'configured' || (!decision.missing.idp && !decision.missing.mcp)) return undefined;
  const toSet = [
    ...(decision.missing.idp ? ['the identity provider (CAPSULE_UPSTREAM_ISSUER, CAPSULE_UPSTREAM_CLIENT_ID, CAPSULE_UPSTREAM_CLIENT_SECRET)'] : []),
    ...(decision.missing.mcp ? ['the MCP server (CAPSULE_MCP_URL)'] : []),
  ];
  return `${decision.by.join(', ')} ${decision.by.length === 1 ? 'is' : 'are'} set, so the development setup (embedded identity provider and demo MCP server) does not start: configure ${toSet.join(' and ')}, or unset ${decision.by.length === 1 ? 'it' : 'them'} to run the development setup`;
}
