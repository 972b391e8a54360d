// A small RFC 4512 AttributeTypeDescription reader: enough to compare a server's shrTok with ours.

export interface AttributeTypeInfo {
  /** Numeric OID, or a pseudo-OID such as Dogtag's `shrTok-oid` on 389-DS. */
  oid: string;
  names: string[];
  desc?: string;
  sup?: string;
  /** Syntax OID without a `{length}` bound. */
  syntax?: string;
  singleValue: boolean;
  /** The definition as the server returned it, for reports. */
  raw: string;
}

type Token = { kind: 'open' | 'close' } | { kind: 'word' | 'quoted'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'open' : 'close' });
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) throw new Error('unterminated quoted string');
      // RFC 4512 escapes a quote as \27 and a backslash as \5C (qdstring).
      const inner = text
        .slice(i + 1, end)
        .replace(/\\([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      tokens.push({ kind: 'quoted', text: inner });
      i = end + 1;
    } else {
      let end = i;
      while (end < text.length && !/[\s()']/.test(text[end] as string)) end++;
      tokens.push({ kind: 'word', text: text.slice(i, end) });
      i = end;
    }
  }
  return tokens;
}

/** Parses one attributeTypes value; throws on text that is not a parenthesised description. */
export function parseAttributeType(raw: string): AttributeTypeInfo {
  const tokens = tokenize(raw);
  const first = tokens[0];
  const oidToken = tokens[1];
  if (first?.kind !== 'open' || oidToken?.kind !== 'word' || tokens.at(-1)?.kind !== 'close') {
    throw new Error('not an attribute type description');
  }
  const info: AttributeTypeInfo = { oid: oidToken.text, names: [], singleValue: false, raw };
  let i = 2;
  const takeValues = (): string[] => {
    const t = tokens[i];
    if (t?.kind === 'open') {
      const values: string[] = [];
      i++;
      while (i < tokens.length && tokens[i]?.kind !== 'close') {
        const v = tokens[i++];
        if (v && (v.kind === 'word' || v.kind === 'quoted') && v.text !== '$') values.push(v.text);
      }
      i++;
      return values;
    }
    i++;
    return t && (t.kind === 'word' || t.kind === 'quoted') ? [t.text] : [];
  };
  while (i < tokens.length - 1) {
    const t = tokens[i++];
    if (t?.kind !== 'word') continue;
    switch (t.text.toUpperCase()) {
      case 'NAME':
        info.names = takeValues();
        break;
      case 'DESC':
        info.desc = takeValues()[0];
        break;
      case 'SUP':
        info.sup = takeValues()[0];
        break;
      case 'SYNTAX':
        info.syntax = takeValues()[0]?.replace(/\{\d*\}$/, '');
        break;
      case 'SINGLE-VALUE':
        info.singleValue = true;
        break;
      case 'EQUALITY':
      case 'ORDERING':
      case 'SUBSTR':
      case 'USAGE':
        takeValues();
        break;
      default:
        // Extensions (X-ORIGIN, X-SCHEMA-FILE, ...) carry one value or a list; flags carry none.
        if (t.text.startsWith('X-')) takeValues();
    }
  }
  return info;
}

/** Names are case-insensitive (RFC 4512 §2.5); OIDs compare as text, pseudo-OIDs case-insensitively. */
export function hasName(info: AttributeTypeInfo, name: string): boolean {
  const wanted = name.toLowerCase();
  return info.names.some((n) => n.toLowerCase() === wanted);
}

/** The effective syntax, following SUP when the definition has none of its own. */
export function effectiveSyntax(
  info: AttributeTypeInfo,
  all: readonly AttributeTypeInfo[],
  depth = 0,
): string | undefined {
  if (info.syntax || !info.sup || depth > 10) return info.syntax;
  const sup = info.sup.toLowerCase();
  const parent = all.find((a) => a.oid.toLowerCase() === sup || hasName(a, sup));
  return parent ? effectiveSyntax(parent, all, depth + 1) : undefined;
}
