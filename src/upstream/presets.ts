import type { ClaimNames } from './identity/claims.js';

/**
 * The one home of every provider preset's defaults. `settings.ts` validates
 * against these and `resolveUpstream` applies them; `PRESET_DOCS` describes
 * them for people.
 */

export const UPSTREAM_PROVIDERS = ['oidc', 'google', 'microsoft', 'github', 'oauth2'] as const;
export type UpstreamProvider = (typeof UPSTREAM_PROVIDERS)[number];

export const UPSTREAM_TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type UpstreamTokenAuthMethod = (typeof UPSTREAM_TOKEN_AUTH_METHODS)[number];

/** How the identity is established: a validated ID token, a userinfo document, or GitHub's REST API. */
export type UpstreamProtocol = 'oidc' | 'oauth2' | 'github';

/** The settings a preset may or must have beyond clientId, scopes, tokenAuthMethod and timeout. */
type FieldRule = 'required' | 'optional' | 'refused';

export interface Preset {
  readonly protocol: UpstreamProtocol;
  readonly scopes: readonly string[];
  readonly authParams: Readonly<Record<string, string>>;
  readonly tokenAuthMethod: UpstreamTokenAuthMethod;
  /** Claim names read from the ID token / userinfo; undefined where identity comes from an API. */
  readonly claims?: ClaimNames;
  readonly fields: {
    readonly issuer: FieldRule;
    readonly authorizationUrl: FieldRule;
    readonly tokenUrl: FieldRule;
    readonly userinfoUrl: FieldRule;
    readonly apiUrl: FieldRule;
    readonly tenant: FieldRule;
    readonly claims: FieldRule;
    readonly clientSecret: FieldRule;
  };
}

export const DEFAULT_CLAIMS: ClaimNames = {
  subject: 'sub',
  email: 'email',
  emailVerified: 'email_verified',
  name: 'name',
  groups: 'groups',
};

export const GOOGLE_ISSUER = 'https://accounts.google.com';
export const MICROSOFT_LOGIN_ORIGIN = 'https://login.microsoftonline.com';
export const GITHUB_AUTHORIZATION_URL = 'https://github.com/login/oauth/authorize';
export const GITHUB_TOKEN_URL = 'https://github.com/login/oauth/access_token';
export const GITHUB_API_URL = 'https://api.github.com';

/** Entra's multi-tenant aliases: their discovery issuer is a `{tenantid}` template, and any tenant's users could sign in. */
export const ENTRA_MULTI_TENANT_ALIASES = ['common', 'organizations', 'consumers'] as const;

const OIDC_FIELDS = {
  issuer: 'required',
  authorizationUrl: 'optional',
  tokenUrl: 'optional',
  userinfoUrl: 'optional',
  apiUrl: 'refused',
  tenant: 'refused',
  claims: 'optional',
  clientSecret: 'optional',
} as const;

export const PRESETS: Readonly<Record<UpstreamProvider, Preset>> = {
  oidc: {
    protocol: 'oidc',
    scopes: ['openid', 'email', 'profile'],
    authParams: {},
    tokenAuthMethod: 'client_secret_basic',
    claims: DEFAULT_CLAIMS,
    fields: OIDC_FIELDS,
  },
  google: {
    protocol: 'oidc',
    scopes: ['openid', 'email', 'profile'],
    // Without both, Google issues a refresh token only on a user's very first consent.
    authParams: { access_type: 'offline', prompt: 'consent' },
    tokenAuthMethod: 'client_secret_basic',
    // Google has no groups claim; mapping none keeps every login to one request.
    claims: { ...DEFAULT_CLAIMS, groups: undefined },
    fields: { ...OIDC_FIELDS, issuer: 'optional', clientSecret: 'required' },
  },
  microsoft: {
    protocol: 'oidc',
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    authParams: {},
    // Entra's documentation sends the secret in the body; Basic needs form-encoding that secrets with symbols trip over.
    tokenAuthMethod: 'client_secret_post',
    // Entra never sends email_verified; xms_edov (an optional claim) says the email's domain owner is verified.
    claims: { ...DEFAULT_CLAIMS, emailVerified: 'xms_edov' },
    fields: { ...OIDC_FIELDS, issuer: 'optional', tenant: 'optional', clientSecret: 'required' },
  },
  github: {
    protocol: 'github',
    scopes: ['read:user', 'user:email'],
    authParams: {},
    tokenAuthMethod: 'client_secret_post',
    fields: {
      issuer: 'refused',
      authorizationUrl: 'optional',
      tokenUrl: 'optional',
      userinfoUrl: 'refused',
      apiUrl: 'optional',
      tenant: 'refused',
      claims: 'refused',
      clientSecret: 'required',
    },
  },
  oauth2: {
    protocol: 'oauth2',
    scopes: [],
    authParams: {},
    tokenAuthMethod: 'client_secret_basic',
    claims: DEFAULT_CLAIMS,
    fields: {
      issuer: 'optional',
      authorizationUrl: 'required',
      tokenUrl: 'required',
      userinfoUrl: 'required',
      apiUrl: 'refused',
      tenant: 'refused',
      claims: 'optional',
      clientSecret: 'optional',
    },
  },
};

export interface PresetDoc {
  readonly title: string;
  /** Where to register the proxy's redirect URI, `<CAPSULE_PUBLIC_URL>/oauth/callback`. */
  readonly callbackNote: string;
  readonly scopes: readonly string[];
  /** Extra authorization request parameters the preset sends. */
  readonly authParams: Readonly<Record<string, string>>;
  readonly notes: readonly string[];
}

const CALLBACK = '`<CAPSULE_PUBLIC_URL>/oauth/callback`';

/** A README section per provider: what to register and what the preset does. */
export const PRESET_DOCS: Readonly<Record<UpstreamProvider, PresetDoc>> = {
  oidc: {
    title: 'Any OpenID Connect provider (Okta, Auth0, Keycloak, Authentik, Dex, ...)',
    callbackNote: `Create a confidential web client (authorization code flow) and register ${CALLBACK} as its redirect URI. Set \`issuer\`; everything else is discovered from \`<issuer>/.well-known/openid-configuration\`.`,
    scopes: PRESETS.oidc.scopes,
    authParams: PRESETS.oidc.authParams,
    notes: [
      'Identity comes from the ID token received from the token endpoint over TLS (issuer, audience, nonce and expiry checked), completed from userinfo, with a subject check, when email, name or groups are missing.',
      'An email counts as verified only when the provider sends `email_verified: true`.',
      'Add the provider\'s way to get refresh tokens (often `offline_access`) to the scopes; without one, users sign in again when the upstream access token expires.',
      'Map other claim names with `claims`, e.g. `groups=roles` or a namespaced claim such as `groups=https://example.com/groups`.',
    ],
  },
  google: {
    title: 'Google',
    callbackNote: `Google Cloud console → Google Auth Platform → Clients → Create client → Web application; add ${CALLBACK} under Authorized redirect URIs.`,
    scopes: PRESETS.google.scopes,
    authParams: PRESETS.google.authParams,
    notes: [
      'Issuer https://accounts.google.com (discovery). `access_type=offline` and `prompt=consent` make Google issue a refresh token on every sign-in; set `authParams` to `prompt=` to drop the consent screen, at the price of refresh tokens only on first consent.',
      'Google marks emails verified (`email_verified`); Workspace accounts also carry `hd`, the hosted domain.',
      'To restrict sign-in to a Workspace domain, add `hd=example.com` to `authParams` for the account chooser, and enforce the domain in policy: the parameter alone is not a control.',
    ],
  },
  microsoft: {
    title: 'Microsoft Entra ID',
    callbackNote: `Entra admin center → App registrations → New registration, "Accounts in this organizational directory only", redirect URI platform Web: ${CALLBACK}. Create a client secret under Certificates & secrets; set \`tenant\` to the Directory (tenant) ID shown on the Overview page.`,
    scopes: PRESETS.microsoft.scopes,
    authParams: PRESETS.microsoft.authParams,
    notes: [
      '`tenant` is required: a tenant ID (GUID) or a verified domain such as contoso.com. `common`, `organizations` and `consumers` are refused: their tokens come from any tenant, so any Microsoft account could sign in.',
      'With a domain, discovery must answer with that host and a tenant GUID issuer; ID tokens must then carry exactly that issuer.',
      'Entra does not verify the email claim. Add the optional ID-token claim `xms_edov` (Token configuration → Add optional claim) so an email whose domain the tenant has verified counts as verified; without it, email is present but never verified.',
      'The subject is Entra\'s `sub` (pairwise per application). Set `claims` to `subject=oid` for the directory object ID that admins and Microsoft Graph see.',
      'Groups come from the `groups` claim once the app registration emits group claims (Token configuration → Add groups claim); use `groups=roles` for app roles. Above 200 groups Entra sends none.',
      'Identity comes from the ID token only; userinfo is never called (Entra\'s userinfo accepts only Microsoft Graph access tokens).',
    ],
  },
  github: {
    title: 'GitHub',
    callbackNote: `GitHub → Settings → Developer settings → OAuth Apps → New OAuth App; Authorization callback URL ${CALLBACK}. A GitHub App also works: set the same Callback URL and grant the Account permission "Email addresses: read".`,
    scopes: PRESETS.github.scopes,
    authParams: PRESETS.github.authParams,
    notes: [
      'Plain OAuth 2.0 with PKCE S256 (GitHub has no OpenID Connect for users). The client secret is sent in the request body.',
      'The subject is the numeric user id (logins can be renamed); the name is the profile name, or the login when that is empty.',
      'Email: only the primary address, and only when GitHub marks it verified (from /user/emails); otherwise the identity has no email.',
      'OAuth App tokens do not expire and come without refresh tokens; GitHub App user tokens expire after 8 hours and are refreshed with their refresh token.',
      'For GitHub Enterprise Server set `authorizationUrl`, `tokenUrl` and `apiUrl` (https://HOST/api/v3).',
    ],
  },
  oauth2: {
    title: 'Any OAuth 2.0 provider without OpenID Connect',
    callbackNote: `Register ${CALLBACK} as the redirect URI of an authorization-code client. Set \`authorizationUrl\`, \`tokenUrl\` and \`userinfoUrl\`.`,
    scopes: PRESETS.oauth2.scopes,
    authParams: PRESETS.oauth2.authParams,
    notes: [
      'No scopes by default: set the ones your provider needs to read the user.',
      'Identity is read from the userinfo JSON (GET with the access token) through `claims`: subject, email, emailVerified, name, groups; nested paths such as `data.user.id` work.',
      'An email counts as verified only when the mapped emailVerified claim is `true`.',
      'Set `issuer` when the provider sends the RFC 9207 `iss` callback parameter, so it is checked; without it the parameter is ignored.',
      'Token responses may be JSON or form-encoded; HTTP 200 answers carrying `error` are treated as errors.',
    ],
  },
};
