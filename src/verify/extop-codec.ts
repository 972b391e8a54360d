// Codecs of the verify extended operation (values are DER with IMPLICIT tags, as in RFC 4511).
//
// VerifyRequest ::= SEQUENCE {
//    subject CHOICE { identification [0] UTF8String, serialNumber [1] INTEGER } OPTIONAL,
//    proof CHOICE { passphrase [2] OCTET STRING, cmcRequest [3] OCTET STRING } }
// VerifyResponse ::= SEQUENCE {
//    entryDN OCTET STRING, identification [0] UTF8String OPTIONAL, failedCheck [1] UTF8String OPTIONAL }
import { BerError, BerReader, BerTag, BerWriter } from '../ber/index.js';

export const VERIFY_OID = '2.25.151240746369731152492527378165000953831.1';

/** Limits the value before any decoding: a CMC request is a few KB; this leaves room for large keys. */
export const MAX_VERIFY_REQUEST_BYTES = 256 * 1024;

/** Longest identification (bytes) and serialNumber (INTEGER content bytes; RFC 5280 allows 20) accepted. */
export const MAX_IDENTIFICATION_BYTES = 1024;
export const MAX_SERIAL_BYTES = 64;

const ResponseTag = { identification: 0x80, failedCheck: 0x81 } as const;

const Tag = {
  identification: 0x80,
  serialNumber: 0x81,
  passphrase: 0x82,
  cmcRequest: 0x83,
} as const;

/** A malformed request value: the operation answers protocolError (2). Never carries request bytes. */
export class VerifyProtocolError extends Error {
  override name = 'VerifyProtocolError';
}

export type VerifySubject = { identification: string } | { serial: string };

export type VerifyRequest =
  { subject: VerifySubject; passphrase: Buffer } | { subject?: VerifySubject; cmcRequest: Buffer };

export interface VerifyResponse {
  entryDn: string;
  identification?: string;
  failedCheck?: string;
}

/** Reader over the contents of the one DER SEQUENCE that must fill `value`. */
function derSequence(value: Buffer, what: string): BerReader {
  const outer = new BerReader(value, 0, value.length, true);
  if (outer.peekTag() !== BerTag.sequence) throw new VerifyProtocolError(`${what} must be a SEQUENCE`);
  const r = outer.readSequence();
  outer.expectEnd(what);
  return r;
}

export function decodeVerifyRequest(value: Buffer | undefined): VerifyRequest {
  if (!value) throw new VerifyProtocolError('the verify request has no value');
  if (value.length > MAX_VERIFY_REQUEST_BYTES)
    throw new VerifyProtocolError('the verify request is too large');
  try {
    const r = derSequence(value, 'VerifyRequest');
    let subject: VerifySubject | undefined;
    if (r.peekTag() === Tag.identification) {
      const bytes = r.readOctetString(Tag.identification);
      if (bytes.length > MAX_IDENTIFICATION_BYTES)
        throw new VerifyProtocolError('identification is too long');
      const identification = decodeUtf8(bytes);
      if (identification.length === 0) throw new VerifyProtocolError('identification is empty');
      subject = { identification };
    } else if (r.peekTag() === Tag.serialNumber) {
      const at = r.offset;
      const bytes = r.readOctetString(Tag.serialNumber);
      if (bytes.length > MAX_SERIAL_BYTES) throw new VerifyProtocolError('serialNumber is too long');
      const serial = decodeDerInteger(bytes, at);
      if (serial < 0n) throw new VerifyProtocolError('serialNumber is negative');
      subject = { serial: serial.toString(10) };
    }
    if (r.atEnd()) throw new VerifyProtocolError('VerifyRequest has no proof');
    const proofTag = r.peekTag();
    const proof = r.readOctetString(proofTag);
    if (!r.atEnd()) throw new VerifyProtocolError('VerifyRequest has extra elements');
    if (proofTag === Tag.passphrase) {
      if (!subject) throw new VerifyProtocolError('a passphrase needs an identification or serialNumber');
      return { subject, passphrase: Buffer.from(proof) };
    }
    if (proofTag === Tag.cmcRequest) {
      if (proof.length === 0) throw new VerifyProtocolError('cmcRequest is empty');
      return subject ? { subject, cmcRequest: proof } : { cmcRequest: proof };
    }
    throw new VerifyProtocolError(`unexpected tag 0x${proofTag.toString(16)} in VerifyRequest`);
  } catch (e) {
    if (e instanceof VerifyProtocolError) throw e;
    if (e instanceof BerError) throw new VerifyProtocolError(`malformed VerifyRequest: ${e.message}`);
    throw e;
  }
}

export function encodeVerifyRequest(req: VerifyRequest): Buffer {
  const w = new BerWriter(64).startSequence();
  if (req.subject) {
    if ('identification' in req.subject) w.writeOctetString(req.subject.identification, Tag.identification);
    else w.writeOctetString(integerContents(BigInt(req.subject.serial)), Tag.serialNumber);
  }
  if ('passphrase' in req) w.writeOctetString(req.passphrase, Tag.passphrase);
  else w.writeOctetString(req.cmcRequest, Tag.cmcRequest);
  return w.endSequence().toBuffer();
}

export function encodeVerifyResponse(res: VerifyResponse): Buffer {
  const w = new BerWriter(64).startSequence().writeOctetString(res.entryDn);
  if (res.identification !== undefined) w.writeOctetString(res.identification, ResponseTag.identification);
  if (res.failedCheck !== undefined) w.writeOctetString(res.failedCheck, ResponseTag.failedCheck);
  return w.endSequence().toBuffer();
}

export function decodeVerifyResponse(value: Buffer): VerifyResponse {
  try {
    const r = derSequence(value, 'VerifyResponse');
    if (r.peekTag() !== BerTag.octetString) throw new VerifyProtocolError('VerifyResponse has no entryDN');
    const res: VerifyResponse = { entryDn: decodeUtf8(r.readOctetString()) };
    let lastTag = 0;
    while (!r.atEnd()) {
      const tag = r.peekTag();
      if (tag <= lastTag || (tag !== ResponseTag.identification && tag !== ResponseTag.failedCheck)) {
        throw new VerifyProtocolError('unexpected element in VerifyResponse');
      }
      lastTag = tag;
      const text = decodeUtf8(r.readOctetString(tag));
      if (tag === ResponseTag.identification) res.identification = text;
      else res.failedCheck = text;
    }
    return res;
  } catch (e) {
    if (e instanceof BerError) throw new VerifyProtocolError(`malformed VerifyResponse: ${e.message}`);
    throw e;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new VerifyProtocolError('invalid UTF-8');
  }
}

/** INTEGER contents of any size as a bigint (two's complement); DER requires the minimal encoding. */
function decodeDerInteger(bytes: Buffer, at: number): bigint {
  if (bytes.length === 0) throw new BerError('empty INTEGER', at);
  if (bytes.length > 1) {
    const [a, b] = [bytes[0]!, bytes[1]!];
    if ((a === 0 && b < 0x80) || (a === 0xff && b >= 0x80)) throw new BerError('non-minimal INTEGER', at);
  }
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  if (bytes[0]! >= 0x80) n -= 1n << BigInt(bytes.length * 8);
  return n;
}

/** Minimal two's-complement contents of an INTEGER (BerWriter.writeInteger stops at 32 bits). */
function integerContents(n: bigint): Buffer {
  let v = n;
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    if ((v === 0n && byte < 0x80) || (v === -1n && byte >= 0x80)) break;
  }
  return Buffer.from(bytes);
}
