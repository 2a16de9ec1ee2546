/**
 * The one shape of every error the proxy raises itself, after node-oidc-provider's errors and the
 * stable codes of jose and oauth4webapi:
 *
 * - `code`: a stable snake_case constant that callers dispatch on and operators search the log
 *   for; it never changes with the wording. It names what went wrong in the vocabulary of the
 *   layer that raised the error: the OAuth error code (RFC 6749 §5.2, RFC 7591 §3.2.2) for the
 *   errors the OAuth endpoints answer with, the layer's own reason below them (`timeout`,
 *   `bad_signature`, `invalid_capsule`). A lower layer's error never reaches a client as it is:
 *   the layer that answers raises its own error with the lower one as `cause`. A JSON-RPC error
 *   code is a number the MCP routes choose from `status`; it is not a `code`.
 * - `status`: the HTTP status of the response the error is about: the one the client gets for an
 *   error the proxy answers with, the one a remote sent for an error about a remote's answer;
 *   absent when there is none.
 * - `description`: text fit to send to the client (as `error_description`, or on a page).
 * - `detail`: for the log only, never sent; it may name URLs, claims or a provider's error.
 * - `cause`: the error this one was raised from (ES2022), for the log.
 *
 * None of them ever holds a secret: no token, client secret, code or credential.
 */
export class ProblemError extends Error {
  readonly status: number | undefined;
  readonly detail: string | undefined;

  constructor(
    readonly code: string,
    readonly description: string,
    fields: {
      readonly status?: number | undefined;
      readonly detail?: string | undefined;
      readonly cause?: unknown;
      /** `Error.message`, where it says more than the description. */
      readonly message?: string;
    } = {},
  ) {
    super(fields.message ?? description, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'ProblemError';
    this.status = fields.status;
    this.detail = fields.detail;
  }
}

/**
 * An error as it goes to the log: name, code, status, message and detail, and its cause the same
 * way. `error` holds the code, since loggers redact fields named `code` (authorization codes).
 */
export interface LoggedError {
  readonly name: string;
  readonly error?: string;
  readonly status?: number;
  readonly message: string;
  readonly detail?: string;
  readonly cause?: LoggedError;
}

// Deep enough for a wrapped fetch or jose failure, shallow enough for the logger to redact every level.
const MAX_DEPTH = 3;
const MAX_TEXT = 300;

/**
 * What of an error and its causes may be logged, each text cut to a few hundred characters.
 * Nothing else is copied, since other properties of foreign errors (jose's claims, a provider's
 * response body) may hold tokens; a cause that is not an Error ends the chain.
 */
export function loggedError(error: unknown, depth = 0): LoggedError {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error).slice(0, MAX_TEXT) };
  const { code, status, detail } = error as { code?: unknown; status?: unknown; detail?: unknown };
  return {
    name: error.name,
    ...(typeof code === 'string' ? { error: code } : {}),
    ...(typeof status === 'number' ? { status } : {}),
    message: error.message.slice(0, MAX_TEXT),
    ...(typeof detail === 'string' ? { detail: detail.slice(0, MAX_TEXT) } : {}),
    ...(error.cause instanceof Error && depth < MAX_DEPTH ? { cause: loggedError(error.cause, depth + 1) } : {}),
  };
}

/** The `cause` field of a log line for an error that was raised from another, or none. */
export function loggedCause(error: Error): { cause?: LoggedError } {
  return error.cause === undefined ? {} : { cause: loggedError(error.cause) };
}
