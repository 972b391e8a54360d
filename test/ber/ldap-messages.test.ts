// Each codec: decode a byte fixture, encode and compare hex, round-trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerError, BerWriter } from '../../src/ber/index.js';
import { encodeShortResultResponse } from '../../src/ldap/result.js';
import {
  ModifyOperation,
  Oid,
  ProtocolOp,
  ResultCode,
  attributeTypesOf,
  decodeAbandonRequest,
  decodeAddRequest,
  decodeBindRequest,
  decodeBindResponse,
  decodeEnvelope,
  decodeExtendedRequest,
  decodeExtendedResponse,
  decodeModifyRequest,
  decodeResultResponse,
  decodeSearchResultEntry,
  encodeAddRequest,
  encodeBindRequest,
  encodeBindResponse,
  encodeExtendedRequest,
  encodeMessage,
  encodeModifyRequest,
  encodeNoticeOfDisconnection,
  encodeResultResponse,
  encodeSearchResultEntry,
  opName,
  readResultCode,
  resultCodeName,
  withControl,
  IS_FINAL_RESPONSE,
  RESPONSE_FOR_REQUEST,
} from '../../src/ldap/index.js';

const bytes = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const hexOf = (s: string): string => Buffer.from(s).toString('hex');

test('BindRequest (simple): fixture, encode, round trip', () => {
  const fixture = bytes(
    '30 1b' + // LDAPMessage
      '02 01 01' + // messageID 1
      '60 16' + // bindRequest
      '02 01 03' + // version 3
      '04 0a' +
      hexOf('cn=manager') + // name
      '80 05' +
      hexOf('s3cr3'), // simple password
  );
  const req = decodeBindRequest(fixture);
  assert.equal(req.messageId, 1);
  assert.equal(req.version, 3);
  assert.equal(req.name, 'cn=manager');
  assert.deepEqual(req.authentication, { kind: 'simple', password: Buffer.from('s3cr3') });
  assert.equal(encodeBindRequest(req).toString('hex'), fixture.toString('hex'));
});

test('BindRequest (SASL with and without credentials)', () => {
  const withCreds = encodeBindRequest({
    messageId: 2,
    version: 3,
    name: '',
    authentication: { kind: 'sasl', mechanism: 'DIGEST-MD5', credentials: Buffer.from([0, 1, 2, 0xff]) },
  });
  // a3: [3] SaslCredentials, mechanism then credentials
  assert.ok(
    withCreds.toString('hex').includes('a3' + '12' + '04' + '0a' + hexOf('DIGEST-MD5') + '0404000102ff'),
  );
  assert.deepEqual(decodeBindRequest(withCreds).authentication, {
    kind: 'sasl',
    mechanism: 'DIGEST-MD5',
    credentials: Buffer.from([0, 1, 2, 0xff]),
  });
  const external = encodeBindRequest({
    messageId: 3,
    version: 3,
    name: '',
    authentication: { kind: 'sasl', mechanism: 'EXTERNAL' },
  });
  assert.deepEqual(decodeBindRequest(external).authentication, { kind: 'sasl', mechanism: 'EXTERNAL' });
});

test('a truncated BindRequest is a BerError, not an empty DN', () => {
  const fixture = bytes('30 0a 02 01 01 60 05 02 01 03 04 05'); // name claims 5 bytes, has none
  assert.throws(() => decodeBindRequest(fixture), BerError);
  assert.throws(
    () => decodeBindRequest(bytes('30 0c 02 01 01 60 07 02 01 03 04 00 81 00')),
    /unknown bind authentication choice 0x81/,
  );
});

test('BindResponse as slapd sends it, and with serverSaslCreds', () => {
  const fromSlapd = bytes('30 0c 02 01 01 61 07 0a 01 00 04 00 04 00');
  assert.deepEqual(decodeBindResponse(fromSlapd), { resultCode: 0, matchedDN: '', diagnosticMessage: '' });
  assert.equal(
    encodeBindResponse(1, { resultCode: 0, matchedDN: '', diagnosticMessage: '' }).toString('hex'),
    fromSlapd.toString('hex'),
  );
  assert.equal(readResultCode(fromSlapd), 0);
  const sasl = encodeBindResponse(4, {
    resultCode: 14,
    matchedDN: '',
    diagnosticMessage: '',
    serverSaslCreds: Buffer.from('nonce'),
  });
  assert.deepEqual(decodeBindResponse(sasl).serverSaslCreds, Buffer.from('nonce'));
  assert.equal(readResultCode(sasl), ResultCode.saslBindInProgress);
});

test('ExtendedRequest StartTLS fixture, and a binary value round trip', () => {
  const fixture = bytes('30 1d 02 01 01 77 18 80 16' + hexOf(Oid.startTls));
  assert.deepEqual(decodeExtendedRequest(fixture), { messageId: 1, requestName: Oid.startTls, controls: [] });
  assert.equal(
    encodeExtendedRequest({ messageId: 1, requestName: Oid.startTls }).toString('hex'),
    fixture.toString('hex'),
  );
  const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const req = decodeExtendedRequest(
    encodeExtendedRequest({ messageId: 9, requestName: '1.2.3.4', requestValue: value }),
  );
  assert.deepEqual(req.requestValue, value);
});

test('Notice of Disconnection is an extendedResp with messageID 0 and the notice OID', () => {
  const notice = encodeNoticeOfDisconnection(ResultCode.protocolError, 'bad PDU');
  const expected =
    '30 2b' + // LDAPMessage
    '02 01 00' + // messageID 0
    '78 26' + // extendedResp
    '0a 01 02' + // protocolError
    '04 00' + // matchedDN
    '04 07' +
    hexOf('bad PDU') + // diagnosticMessage
    '8a 16' +
    hexOf(Oid.noticeOfDisconnection); // responseName (22 bytes)
  assert.equal(notice.toString('hex'), expected.replace(/\s+/g, ''));
  assert.deepEqual(decodeExtendedResponse(notice), {
    resultCode: 2,
    matchedDN: '',
    diagnosticMessage: 'bad PDU',
    responseName: Oid.noticeOfDisconnection,
  });
});

test('result responses use the tag that matches the request', () => {
  for (const [req, res] of [
    [ProtocolOp.searchRequest, ProtocolOp.searchResDone],
    [ProtocolOp.modifyRequest, ProtocolOp.modifyResponse],
    [ProtocolOp.addRequest, ProtocolOp.addResponse],
    [ProtocolOp.delRequest, ProtocolOp.delResponse],
    [ProtocolOp.modDNRequest, ProtocolOp.modDNResponse],
    [ProtocolOp.compareRequest, ProtocolOp.compareResponse],
    [ProtocolOp.bindRequest, ProtocolOp.bindResponse],
    [ProtocolOp.extendedReq, ProtocolOp.extendedResp],
  ] as const) {
    assert.equal(RESPONSE_FOR_REQUEST[req], res, opName(req));
    assert.equal(IS_FINAL_RESPONSE[res], 1);
    const frame = encodeResultResponse(5, res, {
      resultCode: 52,
      matchedDN: '',
      diagnosticMessage: 'down',
      referral: ['ldap://x/'],
    });
    const env = decodeEnvelope(frame);
    assert.equal(env.opTag, res);
    assert.deepEqual(decodeResultResponse(frame), {
      resultCode: 52,
      matchedDN: '',
      diagnosticMessage: 'down',
      referral: ['ldap://x/'],
    });
  }
  assert.equal(RESPONSE_FOR_REQUEST[ProtocolOp.abandonRequest], 0);
  assert.equal(RESPONSE_FOR_REQUEST[ProtocolOp.unbindRequest], 0);
  assert.equal(IS_FINAL_RESPONSE[ProtocolOp.searchResEntry], 0);
  assert.equal(IS_FINAL_RESPONSE[ProtocolOp.intermediateResponse], 0);
  assert.equal(resultCodeName(52), 'unavailable');
  assert.equal(resultCodeName(4242), 'unknown');
});

test('SearchResultEntry decode and re-encode keeps bytes, binary values and controls', () => {
  const photo = Buffer.from([0xff, 0xd8, 0x00, 0x80]);
  const entry = {
    messageId: 2,
    objectName: 'uid=photo,ou=People,dc=example,dc=com',
    attributes: [
      { type: 'cn', values: [Buffer.from('Photo Person')] },
      { type: 'jpegPhoto', values: [photo] },
      { type: 'mail', values: [] },
    ],
    controls: [{ type: '1.2.3', critical: true, value: Buffer.from([1]) }],
  };
  const frame = encodeSearchResultEntry(entry);
  assert.deepEqual(decodeSearchResultEntry(frame), entry);
  assert.equal(
    encodeSearchResultEntry(decodeSearchResultEntry(frame)).toString('hex'),
    frame.toString('hex'),
  );
  // Dropping an attribute (what a read filter does) gives a valid, shorter entry.
  const filtered = encodeSearchResultEntry({
    ...entry,
    attributes: entry.attributes.filter((a) => a.type !== 'jpegPhoto'),
  });
  assert.equal(decodeSearchResultEntry(filtered).attributes.length, 2);
});

test('AddRequest and ModifyRequest attribute walks', () => {
  const add = encodeAddRequest({
    messageId: 4,
    entry: 'uid=new,ou=People,dc=example,dc=com',
    attributes: [
      { type: 'objectClass', values: [Buffer.from('inetOrgPerson')] },
      { type: 'shrTok;binary', values: [Buffer.from([1, 2])] },
    ],
  });
  const a = decodeAddRequest(add);
  assert.equal(a.entry, 'uid=new,ou=People,dc=example,dc=com');
  assert.deepEqual([...attributeTypesOf(a)], ['objectclass', 'shrtok']);
  assert.equal(encodeAddRequest(a).toString('hex'), add.toString('hex'));

  const mod = encodeModifyRequest({
    messageId: 5,
    object: 'uid=user1,ou=People,dc=example,dc=com',
    changes: [
      { operation: ModifyOperation.replace, modification: { type: 'mail', values: [Buffer.from('a@b')] } },
      { operation: ModifyOperation.delete, modification: { type: 'revShrTok', values: [] } },
    ],
  });
  const m = decodeModifyRequest(mod);
  assert.equal(m.changes[1]?.operation, ModifyOperation.delete);
  assert.deepEqual([...attributeTypesOf(m)], ['mail', 'revshrtok']);
  assert.equal(encodeModifyRequest(m).toString('hex'), mod.toString('hex'));
});

test('abandon target, envelope controls, and withControl keeping the original bytes', () => {
  assert.equal(decodeAbandonRequest(bytes('30 06 02 01 08 50 01 05')), 5);
  const search = bytes(
    '30 25 02 01 03' + // messageID 3
      '63 20 04 00 0a 01 00 0a 01 00 02 01 00 02 01 00 01 01 00 87 0b' +
      hexOf('objectClass') +
      '30 00',
  );
  const control = { type: Oid.proxiedAuthorization, critical: true, value: Buffer.from('dn:uid=a') };
  const rewritten = withControl(search, control);
  const env = decodeEnvelope(rewritten);
  assert.equal(env.messageId, 3);
  assert.deepEqual(env.op, decodeEnvelope(search).op);
  assert.deepEqual(env.controls, [control]);
  const twice = decodeEnvelope(withControl(rewritten, { type: '1.2.3', critical: false }));
  assert.deepEqual(
    twice.controls.map((c) => c.type),
    [Oid.proxiedAuthorization, '1.2.3'],
  );
  assert.throws(
    () => decodeEnvelope(Buffer.concat([search, bytes('00')])),
    /1 unexpected bytes after the LDAPMessage/,
  );
});

test('short result responses written straight into a buffer are the BerWriter bytes', () => {
  const reference = (id: number, tag: number, code: number, matched: string, diagnostic: string): Buffer => {
    const w = new BerWriter(64).startSequence(tag).writeEnumerated(code);
    w.writeOctetString(matched).writeOctetString(diagnostic);
    return encodeMessage(id, w.endSequence().toBuffer());
  };
  const ids = [0, 1, 127, 128, 255, 256, 32767, 32768, 8388607, 8388608, 2147483647];
  const texts = ['', 'invalid credentials', 'über', 'uid=a,cn=shared-token', 'x'.repeat(90)];
  let fast = 0;
  for (const id of ids)
    for (const code of [0, 49, 80, 127])
      for (const diagnostic of texts) {
        for (const tag of [ProtocolOp.bindResponse, ProtocolOp.searchResDone, ProtocolOp.modifyResponse]) {
          const want = reference(id, tag, code, '', diagnostic);
          const short = encodeShortResultResponse(id, tag, {
            resultCode: code,
            matchedDN: '',
            diagnosticMessage: diagnostic,
          });
          if (short !== null) {
            fast++;
            assert.equal(short.toString('hex'), want.toString('hex'), `${id} ${code} ${diagnostic}`);
          } else assert.ok(want.length > 129, `${id} ${diagnostic}: fits, yet no short form`);
          const viaApi =
            tag === ProtocolOp.bindResponse
              ? encodeBindResponse(id, { resultCode: code, matchedDN: '', diagnosticMessage: diagnostic })
              : encodeResultResponse(id, tag, {
                  resultCode: code,
                  matchedDN: '',
                  diagnosticMessage: diagnostic,
                });
          assert.equal(viaApi.toString('hex'), want.toString('hex'));
          assert.equal(decodeResultResponse(viaApi).diagnosticMessage, diagnostic);
        }
      }
  assert.ok(fast > 400, `only ${fast} took the short path`);
});

test('messages without controls are encoded as the BerWriter path encodes them, at every length boundary', () => {
  const reference = (id: number, op: Buffer): Buffer =>
    new BerWriter(op.length + 16).startSequence().writeInteger(id).writeRaw(op).endSequence().toBuffer();
  const ids = [0, 1, 127, 128, 255, 256, 32767, 32768, 8388607, 8388608, 2147483647];
  const sizes = [
    0, 1, 2, 100, 120, 121, 122, 123, 124, 125, 126, 127, 128, 250, 251, 252, 253, 254, 255, 256,
  ];
  for (const size of [...sizes, 65520, 65529, 65530, 65531, 65535, 65536, 70000, 16777200, 16777215]) {
    const op = Buffer.alloc(size, 0x5a);
    if (size > 0) op[0] = ProtocolOp.searchResDone;
    for (const id of ids) {
      const got = encodeMessage(id, op);
      const want = reference(id, op);
      assert.ok(got.equals(want), `id ${id}, op of ${size} bytes`);
    }
  }
});
