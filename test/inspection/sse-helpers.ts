import type { BodyRewriter } from '../../src/proxy/forwarder.js';

export const enc = (text: string) => new TextEncoder().encode(text);
export const dec = (bytes: Uint8Array) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Runs a rewriter over `chunks` and returns everything it produced. */
export function run(rewriter: BodyRewriter, chunks: readonly Uint8Array[]): Uint8Array {
  const out: Uint8Array[] = [];
  for (const chunk of chunks) out.push(...rewriter.push(chunk));
  out.push(...rewriter.end());
  return concat(out);
}

/** Splits `bytes` at the given offsets. */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const offset of [...offsets, bytes.length]) {
    chunks.push(bytes.slice(from, offset));
    from = offset;
  }
  return chunks;
}

export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
  retry: string | undefined;
}

/** A reference SSE parser (WHATWG HTML §9.2.6), independent of the code under test. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split(/\r\n|\r|\n/);
  lines.pop(); // the part after the last line ending is not a line
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  let retry: string | undefined;
  let hasData = false;
  for (const line of lines) {
    if (line === '') {
      if (hasData) events.push({ event: event || 'message', data: data.join('\n'), id, retry });
      data = [];
      event = '';
      hasData = false;
      retry = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      data.push(value);
      hasData = true;
    } else if (field === 'event') event = value;
    else if (field === 'id') id = value;
    else if (field === 'retry') retry = value;
  }
  return events;
}
