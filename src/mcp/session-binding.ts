import { CapsuleError, type CapsuleCodec } from '../crypto/capsule.js';
import { jsonAnswer, type Answer } from '../domain/answer.js';
import type { SessionPayload } from '../domain/capsule-schemas.js';

/**
 * MCP session ids bound to whoever started the session (MCP security best practices: a session
 * id is no authentication and is bound to user-specific information). The downstream's
 * `Mcp-Session-Id` reaches the client only sealed in a session capsule that also names the route
 * and the session's owner: the signed-in user's subject and client, or a digest of the client's
 * own credential, or, on a public route, no one. A presented id that does not open as a session
 * capsule, or opens for another owner or route, is answered as a session the server does not know
 * (HTTP 404 with a JSON-RPC error, as the Streamable HTTP transport says) and never forwarded.
 */

/** Whose session it is: everything in the capsule but the downstream's id. */
export type SessionOwner = Omit<SessionPayload, 'sid'>;

export type SessionCheck =
  /** No session id presented (initialize, or a server without sessions). */
  | { readonly ok: true; readonly presented?: undefined; readonly downstreamId?: undefined }
  | { readonly ok: true; readonly presented: string; readonly downstreamId: string }
  | { readonly ok: false; readonly detail: string };

/** The code MCP SDK servers answer an unknown or terminated session with. */
const SESSION_NOT_FOUND_CODE = -32001;

const UNKNOWN_SESSION = jsonAnswer(404, { jsonrpc: '2.0', id: null, error: { code: SESSION_NOT_FOUND_CODE, message: 'Session not found' } });

/** Opens the client's `Mcp-Session-Id` and checks it belongs to `owner`; `detail` is for the log only. */
export async function checkSessionId(capsules: CapsuleCodec, presented: string | undefined, owner: SessionOwner): Promise<SessionCheck> {
  if (presented === undefined) return { ok: true };
  let session: SessionPayload;
  try {
    // Cached once opened, like access tokens: a session id comes with every request.
    session = await capsules.openSession(presented);
  } catch (error) {
    if (error instanceof CapsuleError) return { ok: false, detail: error.reason };
    throw error;
  }
  if (session.route !== owner.route) return { ok: false, detail: 'session of another route' };
  if (session.sub !== owner.sub || session.cid !== owner.cid || session.caller !== owner.caller) {
    return { ok: false, detail: 'session of another user, client or credential' };
  }
  return { ok: true, presented, downstreamId: session.sid };
}

/**
 * The id the client gets for the downstream's session id: the one it presented when that is the
 * session it names (so a client keeps one id, and opening it stays a cache hit), else a new seal.
 */
export function clientSessionIds(capsules: CapsuleCodec, check: SessionCheck & { ok: true }, owner: SessionOwner): (downstreamId: string) => Promise<string> {
  return async (downstreamId) =>
    check.presented !== undefined && check.downstreamId === downstreamId ? check.presented : capsules.seal('session', { sid: downstreamId, ...owner });
}

/** The answer to a session id that is not the caller's: what the downstream says of a session it does not know. */
export function unknownSession(): Answer {
  return UNKNOWN_SESSION;
}
