export interface FormControl {
  name: string;
  value: string;
  /** Lower-case input type (`text` when absent); `textarea` and `select` for those elements. */
  type: string;
}

export interface ParsedForm {
  method: 'GET' | 'POST';
  /** The action attribute resolved against the page URL (the page itself when absent). */
  action: URL;
  /** Controls a plain submission would send, in document order (unchecked boxes left out). */
  controls: FormControl[];
  /** Named submit buttons (`<button>` and `<input type=submit>`); only the clicked one is sent. */
  buttons: Array<{ name: string; value: string }>;
}

const FORM = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
const CONTROL = /<(input|button|textarea|select)\b([^>]*)>(?:([\s\S]*?)<\/\1\s*>)?/gi;
const ATTRIBUTE = /([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const NOT_SENT = new Set(['submit', 'button', 'image', 'reset', 'file']);

/**
 * Reads forms the way the pages under test write them: well-formed, no scripts needed. A regular
 * scan, not an HTML parser; nested or unclosed forms are outside what it promises.
 */
export function parseForms(html: string, pageUrl: URL): ParsedForm[] {
  return [...html.matchAll(FORM)].map(([, formAttributes = '', inner = '']) => {
    const attributes = parseAttributes(formAttributes);
    const form: ParsedForm = {
      method: attributes.get('method')?.toUpperCase() === 'POST' ? 'POST' : 'GET',
      action: new URL(attributes.get('action') || pageUrl.href, pageUrl),
      controls: [],
      buttons: [],
    };
    for (const [, tag = '', controlAttributes = '', content = ''] of inner.matchAll(CONTROL)) {
      addControl(form, tag.toLowerCase(), parseAttributes(controlAttributes), content);
    }
    return form;
  });
}

function addControl(form: ParsedForm, tag: string, attributes: Map<string, string>, content: string): void {
  const name = attributes.get('name');
  if (!name || attributes.has('disabled')) return;
  const type = tag === 'input' ? (attributes.get('type') ?? 'text').toLowerCase() : tag;
  if (tag === 'button' || type === 'submit') {
    if ((attributes.get('type') ?? 'submit').toLowerCase() === 'submit') form.buttons.push({ name, value: attributes.get('value') ?? '' });
    return;
  }
  if (tag === 'textarea') return void form.controls.push({ name, type, value: decodeEntities(content) });
  if (tag === 'select') return void form.controls.push({ name, type, value: selectedOption(content) });
  if (NOT_SENT.has(type)) return;
  if ((type === 'checkbox' || type === 'radio') && !attributes.has('checked')) return;
  form.controls.push({ name, type, value: attributes.get('value') ?? (type === 'checkbox' ? 'on' : '') });
}

function selectedOption(content: string): string {
  const options = [...content.matchAll(/<option\b([^>]*)>([^<]*)/gi)].map(([, attrs = '', label = '']) => ({
    attributes: parseAttributes(attrs),
    label: decodeEntities(label.trim()),
  }));
  const chosen = options.find((o) => o.attributes.has('selected')) ?? options[0];
  return chosen ? (chosen.attributes.get('value') ?? chosen.label) : '';
}

function parseAttributes(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const [, name = '', double, single, bare] of source.matchAll(ATTRIBUTE)) {
    const key = name.toLowerCase();
    if (!attributes.has(key)) attributes.set(key, decodeEntities(double ?? single ?? bare ?? ''));
  }
  return attributes;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[\da-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] !== '#') return NAMED[entity.toLowerCase()] ?? whole;
    const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
    return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}
