// Codecs of the verify extended operation (values are DER with IMPLICIT tags, as in RFC 4511).
//
// VerifyRequest ::= SEQUENCE {
//    subject CHOICE { identification [0] UTF8String, serialNumber [1] INTEGER } OPTIONAL,
//    proof CHOICE { passphrase [2] OCTET STRING, cmcRequest [3] OCTET STRING } }
// VerifyResponse ::= SEQUENCE {
//    entryDN OCTET STRING, identification [0] UTF8String OPTIONAL, failedCheck [1] UTF8String OPTIONAL }
import { berCodec } from '../directory/index.js';

const { BerError, ber, children, decodeInteger, decodeUtf8, readOnly, tlv } = berCodec;

export const VERIFY_OID = '2.25.151240746369731152492527378165000953831.1';

/** Limits the value before any decoding: a CMC request is a few KB; this leaves room for large keys. */
export const MAX_VERIFY_REQUEST_BYTES = 256 * 1024;

/** Longest identification (bytes) and serialNumber (INTEGER content bytes; RFC 5280 allows 20) accepted. */
export const MAX_IDENTIFICATION_BYTES = 1024;
export const MAX_SERIAL_BYTES = 64;

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

export function decodeVerifyRequest(value: Buffer | undefined): VerifyRequest {
  if (!value) throw new VerifyProtocolError('the verify request has no value');
  if (value.length > MAX_VERIFY_REQUEST_BYTES)
    throw new VerifyProtocolError('the verify request is too large');
  try {
    const outer = readOnly(value, true);
    if (outer.tag !== 0x30) throw new VerifyProtocolError('VerifyRequest must be a SEQUENCE');
    const fields = [...children(outer.value, true)];
    let subject: VerifySubject | undefined;
    let i = 0;
    const first = fields[0];
    if (first?.tag === Tag.identification) {
      if (first.value.length > MAX_IDENTIFICATION_BYTES)
        throw new VerifyProtocolError('identification is too long');
      const identification = decodeUtf8(first.value);
      if (identification.length === 0) throw new VerifyProtocolError('identification is empty');
      subject = { identification };
      i = 1;
    } else if (first?.tag === Tag.serialNumber) {
      if (first.value.length > MAX_SERIAL_BYTES) throw new VerifyProtocolError('serialNumber is too long');
      const serial = decodeInteger(first.value, true);
      if (serial < 0n) throw new VerifyProtocolError('serialNumber is negative');
      subject = { serial: serial.toString(10) };
      i = 1;
    }
    const proof = fields[i];
    if (!proof) throw new VerifyProtocolError('VerifyRequest has no proof');
    if (fields.length !== i + 1) throw new VerifyProtocolError('VerifyRequest has extra elements');
    if (proof.tag === Tag.passphrase) {
      if (!subject) throw new VerifyProtocolError('a passphrase needs an identification or serialNumber');
      return { subject, passphrase: Buffer.from(proof.value) };
    }
    if (proof.tag === Tag.cmcRequest) {
      if (proof.value.length === 0) throw new VerifyProtocolError('cmcRequest is empty');
      return subject ? { subject, cmcRequest: proof.value } : { cmcRequest: proof.value };
    }
    throw new VerifyProtocolError(`unexpected tag 0x${proof.tag.toString(16)} in VerifyRequest`);
  } catch (e) {
    if (e instanceof VerifyProtocolError) throw e;
    if (e instanceof BerError) throw new VerifyProtocolError(`malformed VerifyRequest: ${e.message}`);
    throw e;
  }
}

export function encodeVerifyRequest(req: VerifyRequest): Buffer {
  const parts: Buffer[] = [];
  if (req.subject) {
    parts.push(
      'identification' in req.subject
        ? ber.octets(req.subject.identification, Tag.identification)
        : ber.integer(BigInt(req.subject.serial), Tag.serialNumber),
    );
  }
  parts.push('passphrase' in req ? tlv(Tag.passphrase, req.passphrase) : tlv(Tag.cmcRequest, req.cmcRequest));
  return ber.sequence(...parts);
}

export function encodeVerifyResponse(res: VerifyResponse): Buffer {
  return ber.sequence(
    ber.octets(res.entryDn),
    ...(res.identification !== undefined ? [ber.octets(res.identification, 0x80)] : []),
    ...(res.failedCheck !== undefined ? [ber.octets(res.failedCheck, 0x81)] : []),
  );
}

export function decodeVerifyResponse(value: Buffer): VerifyResponse {
  try {
    const outer = readOnly(value, true);
    if (outer.tag !== 0x30) throw new VerifyProtocolError('VerifyResponse must be a SEQUENCE');
    const [dn, ...rest] = [...children(outer.value, true)];
    if (!dn || dn.tag !== 0x04) throw new VerifyProtocolError('VerifyResponse has no entryDN');
    const res: VerifyResponse = { entryDn: decodeUtf8(dn.value) };
    let lastTag = 0;
    for (const f of rest) {
      if (f.tag <= lastTag || (f.tag !== 0x80 && f.tag !== 0x81)) {
        throw new VerifyProtocolError('unexpected element in VerifyResponse');
      }
      lastTag = f.tag;
      if (f.tag === 0x80) res.identification = decodeUtf8(f.value);
      else res.failedCheck = decodeUtf8(f.value);
    }
    return res;
  } catch (e) {
    if (e instanceof BerError) throw new VerifyProtocolError(`malformed VerifyResponse: ${e.message}`);
    throw e;
  }
}
