/**
 * The exact source text of JSON-RPC `id` members, for the rare ids that `JSON.parse` cannot
 * round-trip: integers beyond 2^53, fractions, and minus zero (`JSON.stringify` writes `0`).
 * Echoing `JSON.stringify(parsed)` there would hand the client an id it never sent. Callers run
 * this only when such an id was seen, on text that `JSON.parse` already accepted, so the scanner
 * can assume valid JSON.
 */

const QUOTE = 34;
const BACKSLASH = 92;

function skipWhitespace(text: string, at: number): number {
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) i++;
    else return i;
  }
}

/** `at` is on the opening quote; returns the index just past the closing one. */
function skipString(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) throw new SyntaxError('unterminated string');
    let backslashes = 0;
    for (let b = quote - 1; text.charCodeAt(b) === BACKSLASH; b--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function skipValue(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return skipString(text, at);
  if (first === 123 /* { */ || first === 91 /* [ */) {
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) i = skipString(text, i) - 1;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    throw new SyntaxError('unterminated structure');
  }
  let i = at;
  for (;;) {
    const c = text.charCodeAt(i);
    if (Number.isNaN(c) || c === 44 || c === 125 || c === 93 || c === 32 || c === 9 || c === 10 || c === 13) return i;
    i++;
  }
}

/** Raw text of the last `id` member of the object at `at` (JSON.parse keeps the last duplicate too). */
function objectId(text: string, at: number): { end: number; raw: string | undefined } {
  let raw: string | undefined;
  let i = skipWhitespace(text, at + 1);
  if (text.charCodeAt(i) === 125) return { end: i + 1, raw };
  for (;;) {
    const keyEnd = skipString(text, i);
    const keyText = text.slice(i, keyEnd);
    const key = keyText.includes('\\') ? (JSON.parse(keyText) as string) : keyText.slice(1, -1);
    i = skipWhitespace(text, keyEnd) + 1; // past ':'
    i = skipWhitespace(text, i);
    const valueEnd = skipValue(text, i);
    if (key === 'id') raw = text.slice(i, valueEnd);
    i = skipWhitespace(text, valueEnd);
    if (text.charCodeAt(i) === 125) return { end: i + 1, raw };
    i = skipWhitespace(text, i + 1); // past ','
  }
}

/** Where one message sits in the text, and the source text of its `id` member. */
export interface MessageSpan {
  readonly start: number;
  readonly end: number;
  readonly rawId: string | undefined;
}

/** The span of the message in `text` (one entry), or of each element of a batch. */
export function messageSpans(text: string): MessageSpan[] {
  let i = skipWhitespace(text, 0);
  const spanAt = (at: number): MessageSpan => {
    if (text.charCodeAt(at) !== 123) return { start: at, end: skipValue(text, at), rawId: undefined };
    const { end, raw } = objectId(text, at);
    return { start: at, end, rawId: raw };
  };
  if (text.charCodeAt(i) !== 91) return [spanAt(i)];
  const spans: MessageSpan[] = [];
  i = skipWhitespace(text, i + 1);
  if (text.charCodeAt(i) === 93) return spans;
  for (;;) {
    const span = spanAt(i);
    spans.push(span);
    i = skipWhitespace(text, span.end);
    if (text.charCodeAt(i) !== 44) return spans;
    i = skipWhitespace(text, i + 1);
  }
}

/** The raw `id` text of the message, or of each element of a batch; `undefined` where there is none. */
export function rawIdLexemes(text: string): Array<string | undefined> {
  return messageSpans(text).map((span) => span.rawId);
}

/** An id `JSON.stringify` reproduces exactly (strings and safe integers but -0); others need their raw text. */
export function idRoundTrips(id: unknown): boolean {
  return typeof id !== 'number' || (Number.isSafeInteger(id) && !Object.is(id, -0));
}
