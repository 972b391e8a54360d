// Decoders and encoders for the requests the proxy intercepts (RFC 4511 §4.2, §4.7, §4.11, §4.12) and for
// searchResEntry, so later filters can rewrite entries. Everything else is forwarded without decoding.
import { BerError, BerReader, BerTag, BerWriter } from '../ber/index.js';
import { decodeEnvelope, encodeMessage, opReader } from './message.js';
import type { Control, Envelope } from './message.js';
import { ProtocolOp } from './protocol-op.js';

const SIMPLE_TAG = 0x80;
const SASL_TAG = 0xa3;
const REQUEST_NAME_TAG = 0x80;
const REQUEST_VALUE_TAG = 0x81;

export type BindAuthentication =
  { kind: 'simple'; password: Buffer } | { kind: 'sasl'; mechanism: string; credentials?: Buffer };

export interface BindRequest {
  messageId: number;
  version: number;
  name: string;
  authentication: BindAuthentication;
  controls: Control[];
}

export interface ExtendedRequest {
  messageId: number;
  requestName: string;
  requestValue?: Buffer;
  controls: Control[];
}

/** PartialAttribute / Attribute: values are views into the frame. */
export interface Attribute {
  type: string;
  values: Buffer[];
}

export interface SearchResultEntry {
  messageId: number;
  objectName: string;
  attributes: Attribute[];
  controls: Control[];
}

export interface AddRequest {
  messageId: number;
  entry: string;
  attributes: Attribute[];
  controls: Control[];
}

export const ModifyOperation = { add: 0, delete: 1, replace: 2, increment: 3 } as const;

export interface Change {
  operation: number;
  modification: Attribute;
}

export interface ModifyRequest {
  messageId: number;
  object: string;
  changes: Change[];
  controls: Control[];
}

export function decodeBindRequest(frame: Buffer): BindRequest {
  const env = decodeEnvelope(frame);
  const r = opReader(env, ProtocolOp.bindRequest);
  const version = r.readInteger();
  const name = r.readString();
  let authentication: BindAuthentication;
  const tag = r.peekTag();
  if (tag === SIMPLE_TAG) {
    authentication = { kind: 'simple', password: r.readOctetString(SIMPLE_TAG) };
  } else if (tag === SASL_TAG) {
    const sasl = r.readSequence(SASL_TAG);
    const mechanism = sasl.readString();
    authentication = { kind: 'sasl', mechanism };
    if (!sasl.atEnd()) authentication.credentials = sasl.readOctetString();
    sasl.expectEnd('SaslCredentials');
  } else {
    throw new BerError(`unknown bind authentication choice 0x${tag.toString(16)}`, r.offset);
  }
  r.expectEnd('BindRequest');
  return { messageId: env.messageId, version, name, authentication, controls: env.controls };
}

export function encodeBindRequest(req: Omit<BindRequest, 'controls'> & { controls?: Control[] }): Buffer {
  const w = new BerWriter(64);
  w.startSequence(ProtocolOp.bindRequest).writeInteger(req.version).writeOctetString(req.name);
  const auth = req.authentication;
  if (auth.kind === 'simple') {
    w.writeOctetString(auth.password, SIMPLE_TAG);
  } else {
    w.startSequence(SASL_TAG).writeOctetString(auth.mechanism);
    if (auth.credentials !== undefined) w.writeOctetString(auth.credentials);
    w.endSequence();
  }
  return encodeMessage(req.messageId, w.endSequence().toBuffer(), req.controls);
}

export function decodeExtendedRequest(frame: Buffer): ExtendedRequest {
  const env = decodeEnvelope(frame);
  const r = opReader(env, ProtocolOp.extendedReq);
  const req: ExtendedRequest = {
    messageId: env.messageId,
    requestName: r.readString(REQUEST_NAME_TAG),
    controls: env.controls,
  };
  if (r.peekTag() === REQUEST_VALUE_TAG) req.requestValue = r.readOctetString(REQUEST_VALUE_TAG);
  r.expectEnd('ExtendedRequest');
  return req;
}

export function encodeExtendedRequest(
  req: Omit<ExtendedRequest, 'controls'> & { controls?: Control[] },
): Buffer {
  const w = new BerWriter(64);
  w.startSequence(ProtocolOp.extendedReq).writeOctetString(req.requestName, REQUEST_NAME_TAG);
  if (req.requestValue !== undefined) w.writeOctetString(req.requestValue, REQUEST_VALUE_TAG);
  return encodeMessage(req.messageId, w.endSequence().toBuffer(), req.controls);
}

/** messageID named by an AbandonRequest ([APPLICATION 16] MessageID, primitive). */
export function decodeAbandonRequest(frame: Buffer): number {
  const env = decodeEnvelope(frame);
  return new BerReader(env.op).readInteger(ProtocolOp.abandonRequest);
}

function readAttributes(r: BerReader): Attribute[] {
  const list = r.readSequence();
  const attributes: Attribute[] = [];
  while (!list.atEnd()) {
    const a = list.readSequence();
    const type = a.readString();
    const set = a.readSequence(BerTag.set);
    const values: Buffer[] = [];
    while (!set.atEnd()) values.push(set.readOctetString());
    a.expectEnd('Attribute');
    attributes.push({ type, values });
  }
  return attributes;
}

function writeAttribute(w: BerWriter, a: Attribute): void {
  w.startSequence().writeOctetString(a.type).startSequence(BerTag.set);
  for (const v of a.values) w.writeOctetString(v);
  w.endSequence().endSequence();
}

export function decodeSearchResultEntry(frame: Buffer): SearchResultEntry {
  return searchEntryFromEnvelope(decodeEnvelope(frame));
}

/** The same, from an envelope a client already decoded to dispatch the message (no second pass). */
export function searchEntryFromEnvelope(env: Envelope): SearchResultEntry {
  const r = opReader(env, ProtocolOp.searchResEntry);
  const objectName = r.readString();
  const attributes = readAttributes(r);
  r.expectEnd('SearchResultEntry');
  return { messageId: env.messageId, objectName, attributes, controls: env.controls };
}

/** Re-encodes an entry (after a filter removed or changed attributes), keeping messageID and controls. */
export function encodeSearchResultEntry(entry: SearchResultEntry): Buffer {
  const w = new BerWriter(256);
  w.startSequence(ProtocolOp.searchResEntry).writeOctetString(entry.objectName).startSequence();
  for (const a of entry.attributes) writeAttribute(w, a);
  w.endSequence().endSequence();
  return encodeMessage(entry.messageId, w.toBuffer(), entry.controls);
}

export function decodeAddRequest(frame: Buffer): AddRequest {
  const env = decodeEnvelope(frame);
  const r = opReader(env, ProtocolOp.addRequest);
  const entry = r.readString();
  const attributes = readAttributes(r);
  r.expectEnd('AddRequest');
  return { messageId: env.messageId, entry, attributes, controls: env.controls };
}

export function encodeAddRequest(req: Omit<AddRequest, 'controls'> & { controls?: Control[] }): Buffer {
  const w = new BerWriter(256);
  w.startSequence(ProtocolOp.addRequest).writeOctetString(req.entry).startSequence();
  for (const a of req.attributes) writeAttribute(w, a);
  w.endSequence().endSequence();
  return encodeMessage(req.messageId, w.toBuffer(), req.controls);
}

export function decodeModifyRequest(frame: Buffer): ModifyRequest {
  const env = decodeEnvelope(frame);
  const r = opReader(env, ProtocolOp.modifyRequest);
  const object = r.readString();
  const list = r.readSequence();
  const changes: Change[] = [];
  while (!list.atEnd()) {
    const c = list.readSequence();
    const operation = c.readEnumerated();
    const m = c.readSequence();
    const type = m.readString();
    const set = m.readSequence(BerTag.set);
    const values: Buffer[] = [];
    while (!set.atEnd()) values.push(set.readOctetString());
    m.expectEnd('PartialAttribute');
    c.expectEnd('change');
    changes.push({ operation, modification: { type, values } });
  }
  r.expectEnd('ModifyRequest');
  return { messageId: env.messageId, object, changes, controls: env.controls };
}

export function encodeModifyRequest(req: Omit<ModifyRequest, 'controls'> & { controls?: Control[] }): Buffer {
  const w = new BerWriter(256);
  w.startSequence(ProtocolOp.modifyRequest).writeOctetString(req.object).startSequence();
  for (const c of req.changes) {
    w.startSequence().writeEnumerated(c.operation);
    writeAttribute(w, c.modification);
    w.endSequence();
  }
  w.endSequence().endSequence();
  return encodeMessage(req.messageId, w.toBuffer(), req.controls);
}

/** Attribute types named in an add or modify, lower-cased without options, for write checks. */
export function attributeTypesOf(req: AddRequest | ModifyRequest): Set<string> {
  const types = new Set<string>();
  const attrs = 'changes' in req ? req.changes.map((c) => c.modification) : req.attributes;
  for (const a of attrs) types.add((a.type.split(';')[0] ?? '').toLowerCase());
  return types;
}
