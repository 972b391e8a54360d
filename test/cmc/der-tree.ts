// A DER tree for structural mutation in property tests: parse, mutate one node, re-encode with fresh lengths.
import { readTlv } from '../../src/cmc/der.js';
import { tlv } from '../../src/cmc/builder.js';

export interface DerNode {
  tag: number;
  /** Constructed children, or the DER elements an OCTET STRING encapsulates (eContent, extnValue). */
  children: DerNode[] | null;
  value: Buffer;
  encapsulates: boolean;
}

function parseAll(buf: Buffer): DerNode[] | null {
  const out: DerNode[] = [];
  let off = 0;
  try {
    while (off < buf.length) {
      const t = readTlv(buf, off);
      out.push(parseNode(t.tag, t.value));
      off += t.raw.length;
    }
  } catch {
    return null;
  }
  return out;
}

function parseNode(tag: number, value: Buffer): DerNode {
  if (tag & 0x20) {
    const kids = parseAll(value);
    if (kids) return { tag, children: kids, value, encapsulates: false };
  } else if (tag === 0x04 && value.length > 1 && value[0] === 0x30) {
    const kids = parseAll(value);
    if (kids?.length === 1) return { tag, children: kids, value, encapsulates: true };
  }
  return { tag, children: null, value, encapsulates: false };
}

export function parseTree(der: Buffer): DerNode {
  const t = readTlv(der, 0);
  return parseNode(t.tag, t.value);
}

export function encodeTree(node: DerNode): Buffer {
  if (!node.children) return tlv(node.tag, node.value);
  return tlv(node.tag, ...node.children.map(encodeTree));
}

/** Every node with its parent, in document order. */
export function nodes(root: DerNode): { node: DerNode; parent: DerNode | null }[] {
  const out: { node: DerNode; parent: DerNode | null }[] = [];
  const walk = (n: DerNode, parent: DerNode | null): void => {
    out.push({ node: n, parent });
    for (const c of n.children ?? []) walk(c, n);
  };
  walk(root, null);
  return out;
}

export type Mutation =
  | { op: 'delete' | 'duplicate' | 'swap' | 'wrap' | 'emptyValue' }
  | { op: 'retag'; tag: number }
  | { op: 'replaceValue'; bytes: Uint8Array };

/** Applies one mutation to the node at `index` (document order) of a copy of the tree. */
export function mutate(der: Buffer, index: number, m: Mutation): Buffer {
  const root = structuredClone(parseTree(der));
  const all = nodes(root);
  const { node, parent } = all[index % all.length]!;
  const siblings = parent?.children;
  const at = siblings ? siblings.indexOf(node) : -1;
  switch (m.op) {
    case 'delete':
      if (siblings) siblings.splice(at, 1);
      else node.children = [];
      break;
    case 'duplicate':
      if (siblings) siblings.splice(at, 0, structuredClone(node));
      break;
    case 'swap':
      if (siblings && siblings.length > 1) {
        const other = (at + 1) % siblings.length;
        [siblings[at], siblings[other]] = [siblings[other]!, siblings[at]!];
      }
      break;
    case 'wrap':
      if (siblings)
        siblings[at] = { tag: 0x30, children: [node], value: Buffer.alloc(0), encapsulates: false };
      break;
    case 'emptyValue':
      node.children = null;
      node.value = Buffer.alloc(0);
      break;
    case 'retag':
      node.tag = m.tag;
      break;
    case 'replaceValue':
      node.children = null;
      node.value = Buffer.from(m.bytes);
      break;
  }
  return encodeTree(root);
}
