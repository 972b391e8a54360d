// LDAPMessage envelope (RFC 4511 §4.1.1): messageID, protocolOp, optional [0] Controls.
// The proxy forwards frames as bytes; this module is for the few operations it decodes or answers itself.
import { BerError, BerReader, BerTag, BerWriter } from '../ber/index.js';

export const CONTROLS_TAG = 0xa0;
export const MAX_MESSAGE_ID = 0x7fffffff;

export interface Control {
  type: string;
  critical: boolean;
  value?: Buffer;
}

export interface Envelope {
  messageId: number;
  opTag: number;
  /** The whole protocolOp element (tag, length, content) as a view into the frame. */
  op: Buffer;
  controls: Control[];
}

/** Decodes the envelope of a complete LDAPMessage; the op body is left to the per-operation decoders. */
export function decodeEnvelope(frame: Buffer): Envelope {
  const outer = new BerReader(frame);
  const msg = outer.readSequence();
  outer.expectEnd('the LDAPMessage');
  const messageId = msg.readInteger();
  if (messageId < 0) throw new BerError(`messageID ${messageId} is negative`, 2);
  const opTag = msg.peekTag();
  const op = msg.readElement();
  const controls: Control[] = [];
  if (msg.peekTag() === CONTROLS_TAG) {
    const list = msg.readSequence(CONTROLS_TAG);
    while (!list.atEnd()) controls.push(decodeControl(list.readSequence()));
  }
  msg.expectEnd('LDAPMessage');
  return { messageId, opTag, op, controls };
}

function decodeControl(r: BerReader): Control {
  const type = r.readString();
  let critical = false;
  if (r.peekTag() === BerTag.boolean) critical = r.readBoolean();
  const control: Control = { type, critical };
  if (r.peekTag() === BerTag.octetString) control.value = r.readOctetString();
  r.expectEnd('Control');
  return control;
}

function writeControls(w: BerWriter, controls: readonly Control[]): void {
  if (controls.length === 0) return;
  w.startSequence(CONTROLS_TAG);
  for (const c of controls) {
    w.startSequence().writeOctetString(c.type);
    if (c.critical) w.writeBoolean(true);
    if (c.value !== undefined) w.writeOctetString(c.value);
    w.endSequence();
  }
  w.endSequence();
}

/** Wraps an encoded protocolOp in an LDAPMessage. */
export function encodeMessage(messageId: number, op: Buffer, controls: readonly Control[] = []): Buffer {
  if (controls.length === 0 && Number.isInteger(messageId) && messageId >= 0 && messageId <= 0x7fffffff)
    return encodePlainMessage(messageId, op);
  const w = new BerWriter(op.length + 16);
  w.startSequence().writeInteger(messageId).writeRaw(op);
  writeControls(w, controls);
  return w.endSequence().toBuffer();
}

/**
 * The same bytes as the BerWriter path for a message without controls, in one allocation and one copy of
 * the op (every service lookup and every local answer goes through here).
 */
function encodePlainMessage(messageId: number, op: Buffer): Buffer {
  const idLength = messageIdOctets(messageId);
  const content = 2 + idLength + op.length;
  const lengthBytes =
    content < 0x80 ? 0 : content < 0x100 ? 1 : content < 0x10000 ? 2 : content < 0x1000000 ? 3 : 4;
  const out = Buffer.allocUnsafe(2 + lengthBytes + content);
  let p = 0;
  out[p++] = BerTag.sequence;
  if (lengthBytes === 0) out[p++] = content;
  else {
    out[p++] = 0x80 | lengthBytes;
    p = writeBigEndian(out, p, content, lengthBytes);
  }
  out[p++] = BerTag.integer;
  out[p++] = idLength;
  p = writeBigEndian(out, p, messageId, idLength);
  op.copy(out, p);
  return out;
}

/** Octets of a messageID (0 … 2^31 − 1) as a minimal positive INTEGER. */
export function messageIdOctets(messageId: number): number {
  return messageId < 0x80 ? 1 : messageId < 0x8000 ? 2 : messageId < 0x800000 ? 3 : 4;
}

/** Writes `value` as `octets` big-endian bytes at `at`; returns the position after them. */
export function writeBigEndian(out: Buffer, at: number, value: number, octets: number): number {
  for (let i = octets - 1; i >= 0; i--) out[at++] = Math.floor(value / 256 ** i) % 256;
  return at;
}

/**
 * Re-encodes a request with one more control (for example proxied authorization), keeping the messageID,
 * the op bytes and the existing controls exactly as received.
 */
export function withControl(frame: Buffer, control: Control): Buffer {
  const env = decodeEnvelope(frame);
  return encodeMessage(env.messageId, env.op, [...env.controls, control]);
}

/** Reader over the content of the protocolOp element, after checking its tag. */
export function opReader(env: Envelope, expectedTag: number): BerReader {
  return new BerReader(env.op).readSequence(expectedTag);
}
