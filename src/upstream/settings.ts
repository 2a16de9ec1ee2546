import * as z from 'zod';
import type { ClaimNames } from './identity/claims.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from './outbound-fetch.js';
import {
  GITHUB_API_URL,
  GITHUB_AUTHORIZATION_URL,
  GITHUB_TOKEN_URL,
  GOOGLE_ISSUER,
  MICROSOFT_LOGIN_ORIGIN,
  PRESETS,
  UPSTREAM_PROVIDERS,
  UPSTREAM_TOKEN_AUTH_METHODS,
  type UpstreamProvider,
  type UpstreamTokenAuthMethod,
} from './presets.js';
import { authParams, claimMapping, entraTenant, entraTenantKind, entraTenantProblem, providerUrl, scopeList, timeoutSeconds } from './settings-fields.js';

export { PRESET_DOCS, UPSTREAM_PROVIDERS, UPSTREAM_TOKEN_AUTH_METHODS, type PresetDoc, type UpstreamProvider, type UpstreamTokenAuthMethod } from './presets.js';

const PRESET_FIELDS = ['issuer', 'authorizationUrl', 'tokenUrl', 'userinfoUrl', 'apiUrl', 'tenant', 'claims', 'clientSecret'] as const;

/**
 * One upstream identity provider, as configured. Every issue's path names the
 * field at fault, so the configuration loader can name the variable.
 */
export const upstreamSettingsSchema = z
  .strictObject({
    provider: z.enum(UPSTREAM_PROVIDERS).default('oidc'),
    /** OpenID Connect issuer (discovery). Presets fill it in; setting it overrides theirs. */
    issuer: providerUrl({ query: false }).optional(),
    /** Endpoint overrides (OIDC presets), or the endpoints themselves (oauth2, GitHub Enterprise). */
    authorizationUrl: providerUrl({ query: true }).optional(),
    tokenUrl: providerUrl({ query: true }).optional(),
    userinfoUrl: providerUrl({ query: true }).optional(),
    /** GitHub REST API base; https://api.github.com unless GitHub Enterprise Server. */
    apiUrl: providerUrl({ query: false }).optional(),
    clientId: z.string().trim().min(1, 'is required'),
    clientSecret: z.string().min(1, 'must not be empty').optional(),
    /** Requested scopes; the preset's when unset. */
    scopes: scopeList.optional(),
    /** How the client secret reaches the token endpoint; the preset's when unset. */
    tokenAuthMethod: z.enum(UPSTREAM_TOKEN_AUTH_METHODS).optional(),
    /** Seconds any single request to the provider may take, body included. */
    timeout: timeoutSeconds,
    /** Microsoft Entra: directory (tenant) ID or verified domain. */
    tenant: entraTenant.optional(),
    /** Extra authorization request parameters, merged over the preset's. */
    authParams: authParams.optional(),
    /** Claim names for the identity (OIDC presets and oauth2). */
    claims: claimMapping.optional(),
  })
  .superRefine(
    (settings, ctx) => {
      const preset = PRESETS[settings.provider];
      // The provider itself failed to parse: its rules are unknown, and its own issue says so.
      if (!preset) return;
      const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      for (const field of PRESET_FIELDS) {
        const rule = preset.fields[field];
        const given = settings[field] !== undefined;
        if (rule === 'refused' && given) problem(field, `is not used by the ${settings.provider} provider`);
        if (rule === 'required' && !given) problem(field, `is required for the ${settings.provider} provider`);
      }
      if (settings.provider === 'microsoft') {
        if (settings.tenant === undefined && settings.issuer === undefined) problem('tenant', 'is required for the microsoft provider');
        if (settings.tenant !== undefined && settings.issuer !== undefined) problem('issuer', 'give either tenant or issuer, not both');
        const tenantInIssuer = typeof settings.issuer === 'string' ? entraTenantSegment(settings.issuer) : undefined;
        const issuerProblem = tenantInIssuer === undefined ? undefined : entraTenantProblem(tenantInIssuer);
        if (settings.issuer !== undefined && settings.tenant === undefined && issuerProblem) problem('issuer', `names tenant ${issuerProblem}`);
      }
      const scopes = Array.isArray(settings.scopes) ? settings.scopes : undefined;
      if (preset.protocol === 'oidc' && scopes && !scopes.includes('openid')) {
        problem('scopes', `must include openid for the ${settings.provider} provider`);
      }
    },
    // Runs even when a field failed, so every problem is reported at once.
    { when: () => true },
  )
  .transform((settings) => ({
    ...settings,
    scopes: settings.scopes ?? [...PRESETS[settings.provider].scopes],
    tokenAuthMethod: settings.tokenAuthMethod ?? PRESETS[settings.provider].tokenAuthMethod,
  }));

export type UpstreamSettingsInput = z.input<typeof upstreamSettingsSchema>;
export type UpstreamSettings = z.output<typeof upstreamSettingsSchema>;

function entraTenantSegment(issuer: string): string | undefined {
  try {
    return new URL(issuer).pathname.split('/').filter(Boolean)[0]?.toLowerCase();
  } catch {
    return undefined;
  }
}

interface ResolvedCommon {
  readonly provider: UpstreamProvider;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  readonly tokenAuthMethod: UpstreamTokenAuthMethod;
  readonly scopes: readonly string[];
  /** Sent on every authorization request after the proxy's own parameters. */
  readonly authParams: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export interface ResolvedOidcUpstream extends ResolvedCommon {
  readonly protocol: 'oidc';
  /** Discovery at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  /**
   * `exact`: discovery must name `issuer`, and ID tokens carry it.
   * `entra-domain`: `issuer` names an Entra tenant by domain; discovery must name the same host
   * with a tenant GUID (`https://host/<guid>/v2.0`), and ID tokens must carry exactly that.
   */
  readonly issuerValidation: 'exact' | 'entra-domain';
  /** Replace discovered endpoints. */
  readonly endpoints: { readonly authorization?: string; readonly token?: string; readonly userinfo?: string };
  /** Complete the ID token from userinfo when mapped claims are missing, or never (Entra). */
  readonly userinfo: 'when-missing' | 'never';
  readonly claims: ClaimNames;
}

export interface ResolvedOAuth2Upstream extends ResolvedCommon {
  readonly protocol: 'oauth2';
  /** RFC 9207: when set, a callback `iss` must equal it; otherwise `iss` is ignored. */
  readonly issuer?: string | undefined;
  readonly authorizationUrl: string;
  readonly tokenUrl: string;
  readonly userinfoUrl: string;
  readonly claims: ClaimNames;
}

export interface ResolvedGithubUpstream extends ResolvedCommon {
  readonly protocol: 'github';
  readonly authorizationUrl: string;
  readonly tokenUrl: string;
  readonly apiUrl: string;
}

export type ResolvedUpstream = ResolvedOidcUpstream | ResolvedOAuth2Upstream | ResolvedGithubUpstream;

/** The host a user signs in at, as the consent page names it. */
export function signInHost(resolved: ResolvedUpstream): string {
  const url = resolved.protocol === 'oidc' ? (resolved.endpoints.authorization ?? resolved.issuer) : resolved.authorizationUrl;
  return new URL(url).host;
}

function mergeAuthParams(preset: Readonly<Record<string, string>>, own: Readonly<Record<string, string>> | undefined) {
  const merged: Record<string, string> = { ...preset, ...own };
  for (const [name, value] of Object.entries(merged)) if (value === '') delete merged[name];
  return merged;
}

function mergeClaims(preset: ClaimNames | undefined, own: UpstreamSettings['claims']): ClaimNames {
  const merged = { ...preset, ...own };
  const pick = (value: string | undefined) => (value ? value : undefined);
  return {
    subject: merged.subject || 'sub',
    email: pick(merged.email),
    emailVerified: pick(merged.emailVerified),
    name: pick(merged.name),
    groups: pick(merged.groups),
  };
}

function required(value: string | undefined, field: string, provider: string): string {
  if (value === undefined) throw new Error(`upstream ${field} is required for the ${provider} provider`);
  return value;
}

/** Applies the provider's preset: concrete endpoints, scopes, parameters and claim names. Pure. */
export function resolveUpstream(settings: UpstreamSettings): ResolvedUpstream {
  const preset = PRESETS[settings.provider];
  const common: ResolvedCommon = {
    provider: settings.provider,
    clientId: settings.clientId,
    ...(settings.clientSecret !== undefined ? { clientSecret: settings.clientSecret } : {}),
    tokenAuthMethod: settings.tokenAuthMethod,
    scopes: settings.scopes,
    authParams: mergeAuthParams(preset.authParams, settings.authParams),
    timeoutMs: settings.timeout * 1000,
    maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
  };
  switch (preset.protocol) {
    case 'github':
      return {
        ...common,
        protocol: 'github',
        authorizationUrl: settings.authorizationUrl ?? GITHUB_AUTHORIZATION_URL,
        tokenUrl: settings.tokenUrl ?? GITHUB_TOKEN_URL,
        apiUrl: (settings.apiUrl ?? GITHUB_API_URL).replace(/\/+$/, ''),
      };
    case 'oauth2':
      return {
        ...common,
        protocol: 'oauth2',
        ...(settings.issuer !== undefined ? { issuer: settings.issuer } : {}),
        authorizationUrl: required(settings.authorizationUrl, 'authorizationUrl', settings.provider),
        tokenUrl: required(settings.tokenUrl, 'tokenUrl', settings.provider),
        userinfoUrl: required(settings.userinfoUrl, 'userinfoUrl', settings.provider),
        claims: mergeClaims(preset.claims, settings.claims),
      };
    case 'oidc': {
      const issuer = oidcIssuer(settings);
      const tenant = settings.provider === 'microsoft' ? entraTenantSegment(issuer) : undefined;
      return {
        ...common,
        protocol: 'oidc',
        issuer,
        issuerValidation: tenant !== undefined && entraTenantKind(tenant) === 'domain' ? 'entra-domain' : 'exact',
        endpoints: {
          ...(settings.authorizationUrl !== undefined ? { authorization: settings.authorizationUrl } : {}),
          ...(settings.tokenUrl !== undefined ? { token: settings.tokenUrl } : {}),
          ...(settings.userinfoUrl !== undefined ? { userinfo: settings.userinfoUrl } : {}),
        },
        userinfo: settings.provider === 'microsoft' ? 'never' : 'when-missing',
        claims: mergeClaims(preset.claims, settings.claims),
      };
    }
  }
}

function oidcIssuer(settings: UpstreamSettings): string {
  if (settings.issuer !== undefined) return settings.issuer;
  if (settings.provider === 'google') return GOOGLE_ISSUER;
  if (settings.provider === 'microsoft') {
    const tenant = required(settings.tenant, 'tenant', settings.provider);
    const problem = entraTenantProblem(tenant);
    if (problem) throw new Error(`upstream tenant ${problem}`);
    return `${MICROSOFT_LOGIN_ORIGIN}/${tenant}/v2.0`;
  }
  return required(settings.issuer, 'issuer', settings.provider);
}
