// A tiny deterministic XML writer: elements with attributes in the given order and either text or
// children, two-space indented, every value escaped.

export interface XmlElement {
  name: string;
  attrs?: ReadonlyArray<readonly [string, string | number | undefined]>;
  text?: string | number;
  children?: ReadonlyArray<XmlElement | undefined | false>;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text and attribute values (attributes are single-quoted, so quotes are escaped too). */
export function escapeXml(value: string): string {
  // XML 1.0 cannot carry most control characters at all, even escaped: refuse rather than corrupt.
  if ([...value].some((c) => c < ' ' && c !== '\t' && c !== '\n' && c !== '\r')) {
    throw new Error(`value ${JSON.stringify(value)} contains a control character XML cannot represent`);
  }
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function renderXml(element: XmlElement, depth = 0): string {
  const pad = '  '.repeat(depth);
  const attrs = (element.attrs ?? [])
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}='${escapeXml(String(v))}'`)
    .join('');
  const children = (element.children ?? []).filter((c): c is XmlElement => Boolean(c));
  if (element.text !== undefined) {
    return `${pad}<${element.name}${attrs}>${escapeXml(String(element.text))}</${element.name}>\n`;
  }
  if (children.length === 0) return `${pad}<${element.name}${attrs}/>\n`;
  const inner = children.map((c) => renderXml(c, depth + 1)).join('');
  return `${pad}<${element.name}${attrs}>\n${inner}${pad}</${element.name}>\n`;
}

export function el(
  name: string,
  attrs: XmlElement['attrs'] = [],
  children: XmlElement['children'] = [],
): XmlElement {
  return { name, attrs, children };
}

export function textEl(name: string, text: string | number, attrs: XmlElement['attrs'] = []): XmlElement {
  return { name, attrs, text };
}
