import { trustedForwardedFor } from './forwarded-for.js';

/**
 * Which headers cross the proxy, in each direction.
 *
 * Request side: everything the client sent except what belongs to the hop (RFC 9110 §7.6.1),
 * what names the proxy's own origin (`host`), anything the client could use to speak with an
 * identity or credential that is not its own, and what the proxy says itself about where the
 * request came from. The proxy's own headers and the route's credential are set last.
 * MCP headers (`mcp-session-id`, `mcp-protocol-version`, `last-event-id`, `mcp-method`,
 * `mcp-name`, `mcp-param-*`), `accept` and `content-type` pass untouched.
 *
 * A refused name is refused in every spelling: Rack, Puma, CGI and WSGI servers read `_` as
 * `-` (`X_Forwarded_User` arrives as `HTTP_X_FORWARDED_USER`, like the proxy's own
 * `x-forwarded-user`), so a name with `_` is compared with `_` read as `-`. Only names with
 * `_` pay for that comparison.
 *
 * `content-length` is kept: the body is streamed through byte for byte, so the length the
 * client declared stays true and undici sends it instead of switching to chunked. A forwarder
 * that re-materializes the body (already read by an earlier handler) drops it itself.
 */

/** Headers that describe one connection, never the message (RFC 9110 §7.6.1, RFC 9112 §9.6). */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'proxy-authenticate',
  'proxy-authorization',
] as const;

/**
 * Identity headers a downstream may trust when it sits behind us (`identity-headers` mode,
 * the oauth2-proxy/obot convention). A client could send them itself, so they never pass.
 */
export const IDENTITY_HEADERS = [
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-name',
  'x-forwarded-access-token',
  'x-forwarded-preferred-username',
  'x-forwarded-groups',
] as const;

/**
 * Where the request came from, as the proxy itself tells it (see `Forwarding`). The client's
 * own are dropped: with no trusted proxy in front they are whatever the client chose to say.
 */
const FORWARDING_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'forwarded'] as const;

const REQUEST_DROP: ReadonlySet<string> = new Set<string>([
  ...HOP_BY_HOP,
  ...IDENTITY_HEADERS,
  ...FORWARDING_HEADERS,
  'host',
  'authorization',
  'cookie',
  // Node's server already answered `100 Continue`; undici refuses to send `expect` at all.
  'expect',
]);

/** Names the proxy drops or sets itself (its request id), compared for names spelled with `_`. */
const REFUSED_SPELLINGS: ReadonlySet<string> = new Set<string>([...REQUEST_DROP, 'x-request-id']);

// The downstream's cookies would land on the proxy's origin, beside the proxy's own
// `__Host-` consent and browser-binding cookies (which any response from this host may
// overwrite) and shared by every route mounted there. MCP keeps sessions in
// `Mcp-Session-Id`, not cookies, so nothing legitimate is lost by dropping them.
const RESPONSE_DROP: ReadonlySet<string> = new Set<string>([...HOP_BY_HOP, 'set-cookie']);

/** Request headers for the downstream: lowercase names, repeats joined with ", " as fetch's Headers joins them. */
export type OutboundHeaders = Record<string, string>;

/** A request's headers as (name, value) pairs in any case: a web `Headers`, or Node's raw header list paired up. */
export type HeaderPairs = Iterable<readonly [string, string]>;

export interface OutboundHeaderOptions {
  /** The route's downstream credential, e.g. `{ authorization: 'Bearer …' }`; set after stripping. */
  readonly credential: Readonly<Record<string, string>>;
  /** The proxy's id of this request, sent as X-Request-Id in place of whatever the client sent. */
  readonly requestId?: string;
  /** Incoming headers that carried the client's own credential (a PAT, client id and secret): never forwarded. */
  readonly strip?: readonly string[];
  /** What the proxy tells the downstream about where requests come from; without it no X-Forwarded-* is sent. */
  readonly forwarding?: Forwarding;
  /** The address of this request's socket peer (the client, or the nearest reverse proxy), when the runtime knows it. */
  readonly peer?: string | undefined;
}

/**
 * A route's X-Forwarded-* settings. X-Forwarded-For is the trusted part of the incoming chain
 * (`trustedForwardedFor`) followed by the peer that connected to the proxy; X-Forwarded-Proto
 * and X-Forwarded-Host name the proxy's public origin, the one clients address. X-Real-IP and
 * Forwarded are not sent.
 */
export interface Forwarding {
  /** How many reverse proxies in front of the proxy append to X-Forwarded-For (`trustProxyHops`). */
  readonly trustedHops: number;
  /** `http` or `https`. */
  readonly proto: string;
  /** Host and port of the public origin. */
  readonly host: string;
}

/** The names listed in a `Connection` header, lowercased: per RFC 9110 they are hop-by-hop too. */
export function connectionTokens(value: string | string[] | null | undefined): ReadonlySet<string> | undefined {
  // The usual values name nothing that is not dropped already (Keep-Alive is hop-by-hop).
  if (value === null || value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  const tokens = new Set<string>();
  for (const token of joined.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') tokens.add(name);
  }
  return tokens.size === 0 ? undefined : tokens;
}

/**
 * Headers to send downstream for a request that arrived with `incoming`. A plain record,
 * not a web `Headers`: on Node it is built from the parser's raw list and handed to undici
 * as is, with no `Headers` object made on the way (that cost a measurable share of a call).
 */
export function outboundRequestHeaders(incoming: HeaderPairs, options: OutboundHeaderOptions): OutboundHeaders {
  const filter = new RequestHeaderFilter(options);
  if (Array.isArray(incoming)) {
    const pairs = incoming as ReadonlyArray<readonly [string, string]>;
    for (let i = 0; i < pairs.length; i++) filter.add(pairs[i]![0].toLowerCase(), pairs[i]![1]);
  } else {
    for (const [name, value] of incoming) filter.add(name.toLowerCase(), value);
  }
  return filter.finish();
}

/** Node's `rawHeaders`: name, value, name, value… as the request spelled them. */
export type RawHeaderList = readonly string[];

/** Node's raw header names, lowercased: one per name and value pair of the raw list. */
export function lowercaseRawNames(raw: RawHeaderList): string[] {
  const names: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) names.push(raw[i]!.toLowerCase());
  return names;
}

/**
 * outboundRequestHeaders for Node's raw list as it is, without pairing it up first. A caller that
 * has lowercased the names already (to look headers up) passes them, so no name is lowercased twice.
 */
export function outboundRequestHeadersFromRaw(raw: RawHeaderList, options: OutboundHeaderOptions, names: readonly string[] = lowercaseRawNames(raw)): OutboundHeaders {
  const filter = new RequestHeaderFilter(options);
  for (let i = 0; i + 1 < raw.length; i += 2) filter.add(names[i >> 1]!, raw[i + 1]!);
  return filter.finish();
}

/** Takes the incoming headers one by one, then finishes the outbound set (see outboundRequestHeaders). */
class RequestHeaderFilter {
  // No prototype: a header named `__proto__` or `constructor` is just a header.
  readonly #outbound: OutboundHeaders = Object.create(null) as OutboundHeaders;
  #connection: string | undefined;
  #forwardedFor: string | undefined;

  constructor(private readonly options: OutboundHeaderOptions) {}

  /** One incoming header, its name lowercased. */
  add(name: string, value: string): void {
    if (name === 'connection') this.#connection = this.#connection === undefined ? value : `${this.#connection}, ${value}`;
    else if (name === 'x-forwarded-for') this.#forwardedFor = this.#forwardedFor === undefined ? value : `${this.#forwardedFor}, ${value}`;
    // HTTP/2 pseudo-headers (`:path` …) describe the stream, not the message.
    if (REQUEST_DROP.has(name) || name.charCodeAt(0) === COLON) return;
    if (name.includes('_') && refusedSpelling(name.replaceAll('_', '-'), this.options)) return;
    const existing = this.#outbound[name];
    this.#outbound[name] = existing === undefined ? value : `${existing}, ${value}`;
  }

  finish(): OutboundHeaders {
    const { options } = this;
    const outbound = this.#outbound;
    const connection = this.#connection;
    // The usual values name nothing that is not dropped already (Keep-Alive is hop-by-hop).
    const named = connectionTokens(connection);
    if (named !== undefined) for (const name of named) delete outbound[name];
    if (options.strip !== undefined) for (const name of options.strip) delete outbound[name.toLowerCase()];
    if (options.forwarding !== undefined) setForwarding(outbound, options.forwarding, options.peer, this.#forwardedFor);
    if (options.requestId !== undefined) outbound['x-request-id'] = options.requestId;
    for (const name in options.credential) outbound[name.toLowerCase()] = options.credential[name]!;
    return outbound;
  }
}

const COLON = 0x3a;

/** Whether a name with `_` read as `-` is one the proxy drops or sets itself. */
function refusedSpelling(folded: string, options: OutboundHeaderOptions): boolean {
  if (REFUSED_SPELLINGS.has(folded)) return true;
  for (const name in options.credential) if (name.toLowerCase() === folded) return true;
  return options.strip?.some((name) => name.toLowerCase() === folded) ?? false;
}

function setForwarding(outbound: OutboundHeaders, forwarding: Forwarding, peer: string | undefined, incomingChain: string | undefined): void {
  const chain = trustedForwardedFor(forwarding.trustedHops, incomingChain);
  if (peer !== undefined) chain.push(peer);
  if (chain.length > 0) outbound['x-forwarded-for'] = chain.join(', ');
  outbound['x-forwarded-proto'] = forwarding.proto;
  outbound['x-forwarded-host'] = forwarding.host;
}

function dropsResponseHeader(name: string, named: ReadonlySet<string> | undefined): boolean {
  return RESPONSE_DROP.has(name) || (named?.has(name) ?? false);
}

/** The downstream's response headers that may reach the client (fetch `Headers` form). */
export function responseHeadersToForward(downstream: Headers): Headers {
  const named = connectionTokens(downstream.get('connection'));
  const forwarded = new Headers();
  downstream.forEach((value, name) => {
    if (!dropsResponseHeader(name, named)) forwarded.append(name, value);
  });
  return forwarded;
}

export type HeaderRecord = Record<string, string | string[]>;

/** The same filter for undici's header record: names lowercased by undici's parser, repeated headers as arrays. */
export function responseHeaderRecordToForward(
  downstream: Readonly<Record<string, string | string[] | undefined>>,
): HeaderRecord {
  const named = connectionTokens(downstream['connection']);
  const forwarded: HeaderRecord = {};
  for (const name in downstream) {
    const value = downstream[name];
    if (value !== undefined && !dropsResponseHeader(name, named)) forwarded[name] = value;
  }
  return forwarded;
}
