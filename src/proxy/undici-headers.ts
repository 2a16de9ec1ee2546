/** Header conversions between web Headers and undici's records, for the Node fast path. */
import type { Readable } from 'node:stream';
import type { HeaderRecord, OutboundHeaders } from './outbound-headers.js';

/**
 * Outbound headers as undici sends them: bytes are framed by undici itself (a declared length
 * that differs from them is dropped), and a rewritten response must arrive unencoded. The
 * caller's record is copied only when something changes.
 */
export function outboundRecord(headers: Readonly<OutboundHeaders>, body: Readable | Uint8Array | null, rewriting: boolean): Readonly<OutboundHeaders> {
  const declared = headers['content-length'];
  const reframed = body instanceof Uint8Array && declared !== undefined && declared !== String(body.byteLength);
  if (!reframed && !rewriting) return headers;
  const record: OutboundHeaders = { ...headers };
  if (reframed) delete record['content-length'];
  if (rewriting) record['accept-encoding'] = 'identity';
  return record;
}

/** undici's response header record as web Headers, for the rewrite decision. */
export function headersOf(record: Readonly<Record<string, string | string[] | undefined>>): Headers {
  const headers = new Headers();
  for (const name in record) {
    const value = record[name];
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}
