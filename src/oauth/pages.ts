import { scopeTokens } from '../domain/scope.js';
import { tryUrl } from '../domain/url.js';
import { isLoopbackHost } from '../net/loopback.js';
import type { DownstreamAuthMode } from '../config/schema.js';

/**
 * The only HTML the proxy serves: the consent page and the error page. All
 * dynamic text is escaped; the pages load nothing and cannot be framed.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`=]/g, (char) => `&#${char.charCodeAt(0)};`);
}

export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // same-origin rather than no-referrer: browsers then send a real Origin on the consent POST instead of "null".
  'Referrer-Policy': 'same-origin',
};

const STYLE = `
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f4f5f7;color:#1d2330;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;max-width:460px;width:100%;padding:32px;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:20px;margin:0 0 16px}p,li{line-height:1.5}code{background:#eef0f4;padding:1px 4px;border-radius:4px;overflow-wrap:anywhere}
.warn{background:#fff4e5;border-left:4px solid #f59e0b;padding:8px 12px}
.actions{display:flex;gap:12px;margin-top:24px}button{flex:1;padding:10px;border-radius:8px;font-size:15px;cursor:pointer;border:1px solid #c5cad3;background:#fff}
button.primary{background:#2563eb;color:#fff;border-color:#2563eb}`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

export interface ConsentView {
  readonly clientName: string | undefined;
  /** How the client is known, which decides how much its name can be trusted. */
  readonly clientSource: { kind: 'registered' } | { kind: 'configured' } | { kind: 'metadata-document'; url: string };
  readonly redirectUri: string;
  readonly resource: string;
  /** Where the user will sign in, e.g. accounts.google.com. */
  readonly providerHost: string;
  readonly upstreamScopes: readonly string[];
  /** What the MCP server behind the proxy receives. */
  readonly downstreamReceives: DownstreamAuthMode;
  readonly grantedScope: string;
  readonly requestCapsule: string;
  readonly action: string;
}

function redirectHost(uri: string): string {
  const url = tryUrl(uri);
  return url === undefined ? uri : url.host || `${url.protocol}//`;
}

function isLoopbackRedirect(uri: string): boolean {
  const url = tryUrl(uri);
  return url !== undefined && isLoopbackHost(url.hostname);
}

/**
 * A string the client chose (its name, its redirect URI and host, its document URL), escaped and
 * isolated, so that whatever direction its characters run, the sentence around it keeps its order.
 */
function clientText(text: string, tag?: 'strong' | 'code'): string {
  const isolated = `<bdi>${escapeHtml(text)}</bdi>`;
  return tag ? `<${tag}>${isolated}</${tag}>` : isolated;
}

function downstreamShare(mode: DownstreamAuthMode, server: string, provider: string, scopeText: string): string {
  switch (mode) {
    case 'identity-headers':
      return `${server} receives your identity at ${provider} in request headers (your user ID, name and verified email address) and an access token for your account there${scopeText}`;
    case 'upstream-token':
      return `${server} receives an access token for your account at ${provider}${scopeText}`;
    case 'token-exchange':
    case 'entra-obo':
      return `${server} receives an access token for your account that ${provider} issues for that server`;
    default:
      return `${server} receives nothing of yours: it is called with this proxy's own credential`;
  }
}

function describeSource(source: ConsentView['clientSource']): string {
  switch (source.kind) {
    case 'configured':
      return 'This application was registered by the administrator of this server.';
    case 'metadata-document':
      return `The application is published by ${clientText(redirectHost(source.url), 'strong')} (${clientText(source.url, 'code')}); its name is what that site says.`;
    default:
      return 'The application registered itself; its name was chosen by whoever registered it.';
  }
}

export function consentPage(view: ConsentView): string {
  const name = view.clientName ? clientText(view.clientName) : 'An unnamed application';
  const provider = `<strong>${escapeHtml(view.providerHost)}</strong>`;
  const server = `<code>${escapeHtml(view.resource)}</code>`;
  const scopes = view.upstreamScopes.filter((scope) => scope !== 'offline_access');
  const scopeText = scopes.length ? ` (scopes <code>${escapeHtml(scopes.join(' '))}</code>)` : '';
  const granted = scopeTokens(view.grantedScope);
  const grantedText = granted.length ? `, with the scope${granted.length > 1 ? 's' : ''} <code>${escapeHtml(granted.join(' '))}</code>` : '';
  const shared = [
    `the application gets a token that lets it use ${server} as you${grantedText}; it never sees your ${provider} credentials`,
    downstreamShare(view.downstreamReceives, `the MCP server at ${server}`, provider, scopeText),
  ];
  const loopbackWarning = isLoopbackRedirect(view.redirectUri)
    ? '<p class="warn">This application receives the result on your own computer. Only continue if you just started this connection yourself.</p>'
    : '';
  return layout(
    'Allow access?',
    `<h1>${name} wants to use ${server} as you</h1>
<p>${describeSource(view.clientSource)} After you sign in, you will be sent to ${clientText(redirectHost(view.redirectUri), 'strong')} (${clientText(view.redirectUri, 'code')}).</p>
${loopbackWarning}
<p>You will sign in at ${provider}. If you approve:</p><ul>${shared.map((item) => `<li>${item}</li>`).join('')}</ul>
<form method="post" action="${escapeHtml(view.action)}">
<input type="hidden" name="request" value="${escapeHtml(view.requestCapsule)}">
<div class="actions"><button type="submit" name="decision" value="deny">Deny</button><button class="primary" type="submit" name="decision" value="approve">Approve</button></div>
</form>`,
  );
}

export function errorPage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
