import { concatBytes } from '../../crypto/encoding.js';
import type { BodyRewriter } from '../../proxy/forwarder.js';

/**
 * An SSE body rewritten event by event (WHATWG HTML §9.2: lines end in CRLF, LF or CR; a
 * blank line ends an event; `data` lines join with "\n"; lines starting with ':' are comments).
 *
 * - Bytes are scanned, never decoded, except for a complete event that may need rewriting.
 * - At most one event is held: from its first field line to its blank line. Comment lines
 *   before it (keep-alives such as ":\r\n") and blank lines pass at once, so a quiet stream's
 *   keep-alives still reach the client; nothing is delayed that a client could already use,
 *   since a client dispatches an event only at its blank line.
 * - An event the rewrite leaves alone is emitted byte for byte. A rewritten event keeps its
 *   other fields (id, event, retry, comments) and line endings; its data becomes data lines
 *   at the place of the first one.
 * - An event held beyond `maxEventBytes` is released unchanged and the rest of it passes
 *   through (`onOversize` is told); the next event is scanned again.
 * - Once `done()` is true after an event, the rest of the stream passes through untouched.
 */
export interface SseRewriterOptions {
  /** The event's data (lines joined with "\n"): new data, or undefined to keep the event as it is. */
  rewriteData(data: string): string | undefined;
  done(): boolean;
  readonly maxEventBytes: number;
  onOversize?(heldBytes: number): void;
}

const LF = 10;
const CR = 13;
const COLON = 58;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();


const LINE = /([^\r\n]*)(\r\n|\r|\n|$)/y;

/** The event with its data replaced, or undefined when it has no data or the rewrite keeps it. */
function rewriteEvent(bytes: Uint8Array, rewriteData: (data: string) => string | undefined): Uint8Array | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  const bom = text.charCodeAt(0) === 0xfeff ? '\uFEFF' : '';
  const lines: Array<{ content: string; end: string; data: string | undefined }> = [];
  const data: string[] = [];
  LINE.lastIndex = bom.length;
  while (LINE.lastIndex < text.length) {
    const match = LINE.exec(text)!;
    const content = match[1]!;
    const colon = content.indexOf(':');
    const field = colon < 0 ? content : content.slice(0, colon);
    let value: string | undefined;
    if (field === 'data') {
      value = colon < 0 ? '' : content.slice(content.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
      data.push(value);
    }
    lines.push({ content, end: match[2]!, data: value });
  }
  if (data.length === 0) return undefined;
  const replaced = rewriteData(data.join('\n'));
  if (replaced === undefined) return undefined;

  let out = bom;
  let written = false;
  for (const line of lines) {
    if (line.data === undefined) out += line.content + line.end;
    else if (!written) {
      written = true;
      out += replaced
        .split(/\r\n|\r|\n/)
        .map((part) => `data: ${part}${line.end}`)
        .join('');
    }
  }
  return encoder.encode(out);
}

export function createSseRewriter(options: SseRewriterOptions): BodyRewriter {
  let passAll = false;
  let lineStart = true;
  let pendingCR = false; // the last byte seen was CR: a leading LF belongs to that line ending
  let holding = false; // the current event is being held (from its first field line)
  let skipping = false; // the current event outgrew the bound: it passes until its blank line
  let held: Uint8Array[] = [];
  let heldBytes = 0;

  const release = (out: Uint8Array[]) => {
    out.push(...held);
    held = [];
    heldBytes = 0;
  };

  return {
    push(chunk) {
      if (passAll) return [chunk];
      const out: Uint8Array[] = [];
      const n = chunk.length;
      let segment = 0; // start of the bytes not yet given to the output or the held event
      const settle = (to: number) => {
        if (to <= segment) return;
        const part = chunk.subarray(segment, to);
        if (holding) {
          held.push(part);
          heldBytes += part.byteLength;
        } else out.push(part);
        segment = to;
      };
      const outgrown = (at: number) => {
        settle(at);
        options.onOversize?.(heldBytes);
        release(out);
        holding = false;
        skipping = true;
      };
      let nextLF = -2;
      let nextCR = -2;

      let i = 0;
      while (i < n) {
        if (pendingCR) {
          pendingCR = false;
          if (chunk[i] === LF) {
            i++;
            continue;
          }
        }
        if (lineStart) {
          const b = chunk[i]!;
          if (b === LF || b === CR) {
            // A blank line: the event ends here.
            i++;
            if (b === CR) {
              if (i === n) pendingCR = true;
              else if (chunk[i] === LF) i++;
            }
            if (holding) {
              settle(i);
              const event = concatBytes(held, heldBytes);
              held = [];
              heldBytes = 0;
              holding = false;
              out.push(rewriteEvent(event, options.rewriteData) ?? event);
            } else {
              skipping = false;
            }
            if (options.done()) {
              settle(i);
              passAll = true;
              if (i < n) out.push(chunk.subarray(i));
              return out;
            }
            continue;
          }
          lineStart = false;
          if (!holding && !skipping && b !== COLON) {
            settle(i);
            holding = true;
          }
        }
        if (nextLF !== -1 && nextLF < i) nextLF = chunk.indexOf(LF, i);
        if (nextCR !== -1 && nextCR < i) nextCR = chunk.indexOf(CR, i);
        const end = nextLF < 0 ? nextCR : nextCR < 0 ? nextLF : Math.min(nextLF, nextCR);
        if (end < 0) {
          i = n;
          break;
        }
        i = end + 1;
        if (chunk[end] === CR) {
          if (i === n) pendingCR = true;
          else if (chunk[i] === LF) i++;
        }
        lineStart = true;
        if (holding && heldBytes + (i - segment) > options.maxEventBytes) outgrown(i);
      }
      settle(n);
      if (holding && heldBytes > options.maxEventBytes) outgrown(n);
      return out;
    },
    end() {
      const out: Uint8Array[] = [];
      // An unfinished event is never dispatched by a client: it leaves as it came.
      release(out);
      return out;
    },
  };
}
