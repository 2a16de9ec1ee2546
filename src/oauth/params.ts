import { declaresMoreThan, readCappedStream } from '../net/capped-body.js';
import { mediaTypeOf } from '../domain/media-type.js';
import { invalidRequest } from './errors.js';

/**
 * Reads request parameters the way OAuth wants: a repeated parameter is an
 * error (OAuth 2.1 §3.1, §3.2), an empty one counts as absent, unknown ones are ignored.
 */
export class Params {
  constructor(private readonly source: URLSearchParams) {}

  optional(name: string): string | undefined {
    const values = this.source.getAll(name);
    if (values.length > 1) throw invalidRequest(`The ${name} parameter must not be repeated.`);
    const value = values[0];
    return value === undefined || value === '' ? undefined : value;
  }

  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined) throw invalidRequest(`The ${name} parameter is required.`);
    return value;
  }
}

const MAX_FORM_BYTES = 64 * 1024;

/** Parses an application/x-www-form-urlencoded body, refusing other media types and oversized bodies. */
export async function readFormParams(request: Request): Promise<Params> {
  if (mediaTypeOf(request.headers.get('content-type')) !== 'application/x-www-form-urlencoded') {
    throw invalidRequest('The request body must be application/x-www-form-urlencoded.');
  }
  if (declaresMoreThan(request.headers.get('content-length'), MAX_FORM_BYTES)) throw invalidRequest('The request body is too large.');
  const body = await readLimitedText(request, MAX_FORM_BYTES);
  if (body === undefined) throw invalidRequest('The request body is too large.');
  return new Params(new URLSearchParams(body));
}

/** Reads a body as UTF-8 text, giving up (undefined) once it passes `limit` bytes. */
export async function readLimitedText(request: Request, limit: number): Promise<string | undefined> {
  let body: Uint8Array | undefined;
  try {
    body = await readCappedStream(request.body, limit);
  } catch {
    // The client aborted or sent broken framing: its error, not ours (no 500, no error log).
    throw invalidRequest('The request body could not be read.');
  }
  return body === undefined ? undefined : new TextDecoder().decode(body);
}
