// LDAPResult (RFC 4511 §4.1.9) and the responses built on it: the proxy's own answers, and reading the
// resultCode of a backend BindResponse.
import { BerReader, BerTag, BerWriter } from '../ber/index.js';
import { decodeEnvelope, encodeMessage, messageIdOctets, opReader, writeBigEndian } from './message.js';
import type { Control, Envelope } from './message.js';
import { Oid } from './oids.js';
import { ProtocolOp } from './protocol-op.js';
import type { ResultCode } from './result-code.js';

const REFERRAL_TAG = 0xa3;
const SERVER_SASL_CREDS_TAG = 0x87;
const RESPONSE_NAME_TAG = 0x8a;
const RESPONSE_VALUE_TAG = 0x8b;

export interface LdapResult {
  resultCode: number;
  matchedDN: string;
  diagnosticMessage: string;
  referral?: string[];
}

export interface BindResponse extends LdapResult {
  serverSaslCreds?: Buffer;
}

export interface ExtendedResponse extends LdapResult {
  responseName?: string;
  responseValue?: Buffer;
}

function writeResult(w: BerWriter, r: LdapResult): void {
  w.writeEnumerated(r.resultCode).writeOctetString(r.matchedDN).writeOctetString(r.diagnosticMessage);
  if (r.referral && r.referral.length > 0) {
    w.startSequence(REFERRAL_TAG);
    for (const uri of r.referral) w.writeOctetString(uri);
    w.endSequence();
  }
}

export function readResult(r: BerReader): LdapResult {
  const result: LdapResult = {
    resultCode: r.readEnumerated(),
    matchedDN: r.readString(),
    diagnosticMessage: r.readString(),
  };
  if (r.peekTag() === REFERRAL_TAG) {
    const list = r.readSequence(REFERRAL_TAG);
    result.referral = [];
    while (!list.atEnd()) result.referral.push(list.readString());
  }
  return result;
}

/**
 * A bare LDAPResult response whose whole message fits short-form lengths (under 128 octets, no referral,
 * no controls), written straight into one buffer: the proxy's most frequent answers (virtual binds). The
 * same bytes as the BerWriter path; null when it does not fit.
 */
export function encodeShortResultResponse(
  messageId: number,
  responseTag: number,
  r: LdapResult,
): Buffer | null {
  if (r.resultCode < 0 || r.resultCode > 127 || (r.referral !== undefined && r.referral.length > 0))
    return null;
  if (!Number.isInteger(messageId) || messageId < 0 || messageId > 0x7fffffff) return null;
  const matched = Buffer.byteLength(r.matchedDN, 'utf8');
  const diagnostic = Buffer.byteLength(r.diagnosticMessage, 'utf8');
  const idLength = messageIdOctets(messageId);
  const opLength = 3 + 2 + matched + 2 + diagnostic;
  const messageLength = 2 + idLength + 2 + opLength;
  if (messageLength > 127) return null;
  const b = Buffer.allocUnsafe(2 + messageLength);
  let p = 0;
  b[p++] = BerTag.sequence;
  b[p++] = messageLength;
  b[p++] = BerTag.integer;
  b[p++] = idLength;
  p = writeBigEndian(b, p, messageId, idLength);
  b[p++] = responseTag;
  b[p++] = opLength;
  b[p++] = BerTag.enumerated;
  b[p++] = 1;
  b[p++] = r.resultCode;
  b[p++] = BerTag.octetString;
  b[p++] = matched;
  p += b.write(r.matchedDN, p, 'utf8');
  b[p++] = BerTag.octetString;
  b[p++] = diagnostic;
  b.write(r.diagnosticMessage, p, 'utf8');
  return b;
}

/** Any response whose body is a bare LDAPResult (searchResDone, modifyResponse, addResponse, ...). */
export function encodeResultResponse(
  messageId: number,
  responseTag: number,
  result: LdapResult,
  controls: readonly Control[] = [],
): Buffer {
  if (responseTag === ProtocolOp.bindResponse) return encodeBindResponse(messageId, result, controls);
  if (responseTag === ProtocolOp.extendedResp) return encodeExtendedResponse(messageId, result, controls);
  if (controls.length === 0) {
    const short = encodeShortResultResponse(messageId, responseTag, result);
    if (short !== null) return short;
  }
  const w = new BerWriter(64);
  w.startSequence(responseTag);
  writeResult(w, result);
  return encodeMessage(messageId, w.endSequence().toBuffer(), controls);
}

export function encodeBindResponse(
  messageId: number,
  response: BindResponse,
  controls: readonly Control[] = [],
): Buffer {
  if (response.serverSaslCreds === undefined && controls.length === 0) {
    const short = encodeShortResultResponse(messageId, ProtocolOp.bindResponse, response);
    if (short !== null) return short;
  }
  const w = new BerWriter(64);
  w.startSequence(ProtocolOp.bindResponse);
  writeResult(w, response);
  if (response.serverSaslCreds) w.writeOctetString(response.serverSaslCreds, SERVER_SASL_CREDS_TAG);
  return encodeMessage(messageId, w.endSequence().toBuffer(), controls);
}

export function encodeExtendedResponse(
  messageId: number,
  response: ExtendedResponse,
  controls: readonly Control[] = [],
): Buffer {
  const w = new BerWriter(64);
  w.startSequence(ProtocolOp.extendedResp);
  writeResult(w, response);
  if (response.responseName !== undefined) w.writeOctetString(response.responseName, RESPONSE_NAME_TAG);
  if (response.responseValue !== undefined) w.writeOctetString(response.responseValue, RESPONSE_VALUE_TAG);
  return encodeMessage(messageId, w.endSequence().toBuffer(), controls);
}

/** Notice of Disconnection (RFC 4511 §4.4.1): an unsolicited extendedResp with messageID 0. */
export function encodeNoticeOfDisconnection(
  resultCode:
    typeof ResultCode.protocolError | typeof ResultCode.unavailable | typeof ResultCode.strongerAuthRequired,
  diagnosticMessage: string,
): Buffer {
  return encodeExtendedResponse(0, {
    resultCode,
    matchedDN: '',
    diagnosticMessage,
    responseName: Oid.noticeOfDisconnection,
  });
}

export function decodeBindResponse(frame: Buffer): BindResponse {
  const r = opReader(decodeEnvelope(frame), ProtocolOp.bindResponse);
  const response: BindResponse = readResult(r);
  if (r.peekTag() === SERVER_SASL_CREDS_TAG)
    response.serverSaslCreds = r.readOctetString(SERVER_SASL_CREDS_TAG);
  r.expectEnd('BindResponse');
  return response;
}

export function decodeExtendedResponse(frame: Buffer): ExtendedResponse {
  const r = opReader(decodeEnvelope(frame), ProtocolOp.extendedResp);
  const response: ExtendedResponse = readResult(r);
  if (r.peekTag() === RESPONSE_NAME_TAG) response.responseName = r.readString(RESPONSE_NAME_TAG);
  if (r.peekTag() === RESPONSE_VALUE_TAG) response.responseValue = r.readOctetString(RESPONSE_VALUE_TAG);
  r.expectEnd('ExtendedResponse');
  return response;
}

/** The LDAPResult of any result-bearing response frame (final responses only). */
export function decodeResultResponse(frame: Buffer): LdapResult {
  return resultFromEnvelope(decodeEnvelope(frame));
}

/** The same, from an envelope a client already decoded to dispatch the message (no second pass). */
export function resultFromEnvelope(env: Envelope): LdapResult {
  return readResult(new BerReader(env.op).readSequence(env.opTag));
}

/** resultCode of a response frame without decoding the rest. */
export function readResultCode(frame: Buffer): number {
  const env = decodeEnvelope(frame);
  return new BerReader(env.op).readSequence(env.opTag).readEnumerated(BerTag.enumerated);
}
