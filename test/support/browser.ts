import { CookieJar } from './cookie-jar.js';
import { parseForms } from './html-forms.js';
import type { ParsedForm } from './html-forms.js';

export { CookieJar } from './cookie-jar.js';
export type { StoredCookie } from './cookie-jar.js';
export { parseForms } from './html-forms.js';
export type { FormControl, ParsedForm } from './html-forms.js';

/** One HTTP response as the browser saw it, body already read. */
export interface Page {
  url: URL;
  status: number;
  headers: Headers;
  body: string;
  /** The Location header resolved against `url`, for 3xx responses. */
  location: URL | undefined;
}

export type RedirectOutcome =
  /** A URL matched `stopWhen` and was not fetched (e.g. a client redirect_uri nobody serves). */
  | { stopped: true; url: URL }
  /** The chain ended in a non-redirect response. */
  | { stopped: false; url: URL; page: Page };

export interface SubmitOptions {
  /** Values to set; each name must already exist in the form, as a user can only fill what is there. */
  fields?: Record<string, string>;
  /** The submit button to click; sent as name=value like a real click. */
  button?: { name: string; value: string };
  /** Which form: an index into the page's forms, or a predicate. Default: the first. */
  form?: number | ((form: ParsedForm) => boolean);
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * A headless browser for integration tests: cookies, redirects and forms, nothing else.
 * Every request uses global fetch with `redirect: 'manual'`, so each hop is visible and
 * cookies are stored at every step, as a browser does.
 */
export class Browser {
  readonly cookies: CookieJar;

  constructor(options: { cookies?: CookieJar } = {}) {
    this.cookies = options.cookies ?? new CookieJar();
  }

  async request(url: URL | string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Page> {
    const target = new URL(url);
    const headers = new Headers({ accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...init.headers });
    const cookie = this.cookies.header(target);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(target, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      redirect: 'manual',
    });
    this.cookies.storeFrom(target, response.headers);
    const location = response.headers.get('location');
    return {
      url: target,
      status: response.status,
      headers: response.headers,
      body: await response.text(),
      location: location === null ? undefined : new URL(location, target),
    };
  }

  get(url: URL | string): Promise<Page> {
    return this.request(url);
  }

  /** GETs `url` and every redirect after it, stopping before any URL `stopWhen` accepts. */
  async followRedirects(
    url: URL | string,
    options: { stopWhen?: (url: URL) => boolean; maxHops?: number } = {},
  ): Promise<RedirectOutcome> {
    const maxHops = options.maxHops ?? 20;
    let next = new URL(url);
    for (let hop = 0; hop <= maxHops; hop++) {
      if (options.stopWhen?.(next)) return { stopped: true, url: next };
      const page = await this.get(next);
      if (!REDIRECT_STATUSES.has(page.status) || !page.location) return { stopped: false, url: next, page };
      next = page.location;
    }
    throw new Error(`followRedirects: more than ${maxHops} redirects, last at ${next.href}`);
  }

  /** Fills and submits one form of `html` (served from `pageUrl`); returns the response unfollowed. */
  async submitForm(html: string, pageUrl: URL | string, options: SubmitOptions = {}): Promise<Page> {
    const page = new URL(pageUrl);
    const form = pickForm(parseForms(html, page), options.form, page);
    const values = new URLSearchParams(form.controls.map((c) => [c.name, c.value]));
    for (const [name, value] of Object.entries(options.fields ?? {})) {
      if (!values.has(name)) throw new Error(`submitForm: the form at ${page.href} has no field "${name}" (has: ${[...values.keys()].join(', ')})`);
      values.set(name, value);
    }
    if (options.button) {
      const { name, value } = options.button;
      if (!form.buttons.some((b) => b.name === name && b.value === value)) {
        throw new Error(`submitForm: the form at ${page.href} has no button ${name}=${value}`);
      }
      values.append(name, value);
    }
    if (form.method === 'GET') {
      const target = new URL(form.action);
      target.search = values.toString();
      return this.get(target);
    }
    return this.request(form.action, {
      method: 'POST',
      // A browser always names the page's origin on a form POST; CSRF checks rely on it.
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: page.origin },
      body: values.toString(),
    });
  }
}

function pickForm(forms: ParsedForm[], which: SubmitOptions['form'], page: URL): ParsedForm {
  const form = typeof which === 'function' ? forms.find(which) : forms[which ?? 0];
  if (!form) throw new Error(`submitForm: no matching form among ${forms.length} at ${page.href}`);
  return form;
}

export interface DriveLoginOptions {
  /** The login name to type on an IdP sign-in form. */
  login: string;
  /** Where the flow is meant to end (usually the MCP client's redirect_uri); never fetched. */
  stopAt: (url: URL) => boolean;
  /** Picks the button on the proxy's consent page (buttons named `decision`); default approve. */
  onConsentPage?: (html: string, url: URL) => { name: string; value: string } | undefined;
  /** Upper bound on forms submitted; a loop usually means a form is being re-rendered with an error. */
  maxForms?: number;
}

/**
 * Walks an authorization flow the way a person would: follow redirects, sign in on any form with
 * a password field, answer the proxy's consent page, until a redirect reaches `stopAt`.
 * Returns that URL (code, state, iss are in its query).
 */
export async function driveLogin(browser: Browser, startUrl: URL | string, options: DriveLoginOptions): Promise<URL> {
  const maxForms = options.maxForms ?? 10;
  let outcome = await browser.followRedirects(startUrl, { stopWhen: options.stopAt });
  for (let submitted = 0; ; submitted++) {
    if (outcome.stopped) return outcome.url;
    const { page } = outcome;
    const stuck = (why: string) =>
      new Error(`driveLogin stuck at ${page.url.href} (HTTP ${page.status}): ${why}\n${page.body.slice(0, 500)}`);
    if (page.status !== 200) throw stuck('expected a page with a form or a redirect');
    if (submitted >= maxForms) throw stuck(`submitted ${maxForms} forms without reaching the stop URL`);

    const forms = parseForms(page.body, page.url);
    const loginForm = forms.findIndex((f) => f.controls.some((c) => c.type === 'password'));
    const consentForm = forms.findIndex((f) => f.buttons.some((b) => b.name === 'decision'));
    // oidc-provider's own devInteractions consent screen: a hidden prompt=consent and one Continue button.
    const idpConsentForm = forms.findIndex((f) => f.controls.some((c) => c.name === 'prompt' && c.value === 'consent'));

    let response: Page;
    if (loginForm >= 0) {
      const form = forms[loginForm]!;
      const username = form.controls.find((c) => ['text', 'email'].includes(c.type));
      if (!username) throw stuck('sign-in form has a password field but no text field for the login');
      const password = form.controls.find((c) => c.type === 'password')!;
      response = await browser.submitForm(page.body, page.url, {
        form: loginForm,
        fields: { [username.name]: options.login, [password.name]: 'any-password' },
      });
    } else if (consentForm >= 0) {
      const button = options.onConsentPage?.(page.body, page.url) ?? { name: 'decision', value: 'approve' };
      response = await browser.submitForm(page.body, page.url, { form: consentForm, button });
    } else if (idpConsentForm >= 0) {
      response = await browser.submitForm(page.body, page.url, { form: idpConsentForm });
    } else {
      throw stuck('no sign-in or consent form on the page');
    }

    if (response.status === 200) outcome = { stopped: false, url: response.url, page: response };
    else if ((response.status === 302 || response.status === 303) && response.location) {
      outcome = await browser.followRedirects(response.location, { stopWhen: options.stopAt });
    } else {
      throw new Error(`driveLogin: form POST to ${response.url.href} answered HTTP ${response.status}\n${response.body.slice(0, 500)}`);
    }
  }
}
