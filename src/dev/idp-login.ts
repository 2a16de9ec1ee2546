import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { readBodyText } from './read-body.js';

/** Where the embedded IdP sends the browser to sign in; the provider appends the interaction uid. */
export const INTERACTION_PATH = /^\/interaction\/([\w-]+)$/;

const MAX_FORM_BYTES = 16 * 1024;

/**
 * The embedded IdP's only screen: a login form that accepts any name. We serve it ourselves rather
 * than enabling oidc-provider's devInteractions so the page stays small and free of debug dumps and
 * the provider stays quiet. Field names (`login`, `password`) match devInteractions so browser
 * helpers recognise either.
 */
export async function handleLoginInteraction(
  provider: Provider,
  uid: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let details: Awaited<ReturnType<Provider['interactionDetails']>>;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    // A missing or stale interaction cookie is a user-visible dead end, not a server fault.
    return sendHtml(res, 400, '<p>This sign-in attempt has expired. Start again from the application.</p>');
  }
  if (details.uid !== uid) return sendHtml(res, 400, '<p>Interaction mismatch.</p>');

  if (details.prompt.name !== 'login') {
    // loadExistingGrant already approves scopes; anything else (e.g. native-client consent) is approved too.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session?.accountId, clientId: String(details.params['client_id']) });
    if (!grant) return sendHtml(res, 400, '<p>Grant not found.</p>');
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }

  if (req.method === 'GET') return sendHtml(res, 200, loginForm(uid));
  if (req.method !== 'POST') return sendHtml(res, 405, '<p>Method not allowed.</p>');

  const login = new URLSearchParams(await readBody(req)).get('login')?.trim().toLowerCase() ?? '';
  if (!login || login.length > 64) return sendHtml(res, 400, loginForm(uid, 'Enter a login name (any name works).'));
  await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
}

function loginForm(uid: string, problem?: string): string {
  return `<h1>Sign in to the development identity provider</h1>
<p class="note">This is mcp-capsule's embedded identity provider for local development: any name and any password sign in, and the name becomes your user ID.</p>
${problem ? `<p role="alert" class="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
  <input type="hidden" name="prompt" value="login">
  <label for="login">Name</label>
  <input id="login" type="text" name="login" placeholder="alice" autocomplete="username" required autofocus>
  <label for="password">Password</label>
  <input id="password" type="password" name="password" placeholder="anything" autocomplete="current-password">
  <button type="submit">Sign in</button>
</form>`;
}

const STYLE = `body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f4f5f7;color:#1d2330;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;max-width:420px;width:100%;padding:32px;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:20px;margin:0 0 12px}.note{background:#eef4ff;border-left:4px solid #2563eb;padding:8px 12px;line-height:1.5}.alert{color:#b91c1c}
label{display:block;margin:14px 0 4px;font-weight:600}input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px;border:1px solid #c5cad3;border-radius:8px;font-size:15px}
button{margin-top:20px;width:100%;padding:10px;border-radius:8px;font-size:15px;background:#2563eb;color:#fff;border:0;cursor:pointer}`;

function sendHtml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Development sign-in</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`,
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const text = await readBodyText(req, MAX_FORM_BYTES);
  if (text === undefined) throw new Error('login form body too large');
  return text;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
