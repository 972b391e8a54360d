// The interceptor API against a real slapd: local answers of the matching type, errors mapped to result
// codes, response observers on abandon, and a per-session request rewriter.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { pino } from 'pino';
import { buildServeConfig } from '../../src/config/index.js';
import {
  LdapResultError,
  ProtocolOp,
  ResultCode,
  decodeExtendedResponse,
  decodeResultResponse,
  encodeBindRequest,
  encodeExtendedRequest,
  encodeExtendedResponse,
  encodeMessage,
  withControl,
} from '../../src/ldap/index.js';
import { createProxyServer } from '../../src/server/index.js';
import type { ProxyServer } from '../../src/server/index.js';
import { PASS, answer, forward, respond, respondAndClose } from '../../src/session/index.js';
import type { Interceptor, ObserveEnd } from '../../src/session/index.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SUFFIX, startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { WireClient, searchRequest } from './ldap-wire.js';

const OID_CRITICAL_REWRITE = '1.3.6.1.4.1.55555.2';
const OID_GOODBYE = '1.3.6.1.4.1.55555.3';
const OID_BAD_VALUE = '1.3.6.1.4.1.55555.4';
const OID_VIRTUAL_BIND = '1.3.6.1.4.1.55555.5';
const OID_SLOW_ECHO = '1.3.6.1.4.1.55555.6';
/** Released by the test: the slow-echo interceptor answers only then. */
let releaseSlowEcho: () => void = () => undefined;
const ends: ObserveEnd[] = [];
const searchIdentities: string[] = [];
const VIRTUAL_VIA_BACKEND = `cn=virtual-via-backend,${SUFFIX}`;

const interceptors: Interceptor[] = [
  {
    name: 'refuse-delete-under-groups',
    opTags: [ProtocolOp.delRequest],
    intercept(req) {
      // delRequest is a primitive LDAPDN: the op content is the DN itself.
      const dn = req.envelope.op.subarray(2).toString();
      if (dn.endsWith(`ou=Groups,${SUFFIX}`))
        return respond(answer(req, ResultCode.unwillingToPerform, 'not here'));
      return PASS;
    },
  },
  {
    name: 'compare-throws',
    opTags: [ProtocolOp.compareRequest],
    intercept() {
      throw new LdapResultError(ResultCode.adminLimitExceeded, 'compare is limited in this test');
    },
  },
  {
    name: 'test-exops',
    opTags: [ProtocolOp.extendedReq],
    async intercept(req, session) {
      const { requestName } = req.extended;
      const ok = (): Buffer =>
        encodeExtendedResponse(req.messageId, { resultCode: 0, matchedDN: '', diagnosticMessage: '' });
      if (requestName === OID_CRITICAL_REWRITE) {
        // Every later forwarded request carries an unknown critical control: slapd must refuse them.
        session.setRequestRewriter((frame) =>
          withControl(frame, { type: '1.3.6.1.4.1.55555.99', critical: true }),
        );
        return respond(ok());
      }
      if (requestName === OID_GOODBYE) return respondAndClose(ok());
      if (requestName === OID_BAD_VALUE) return Promise.reject(new Error('boom'));
      if (requestName === OID_SLOW_ECHO) {
        await new Promise<void>((r) => (releaseSlowEcho = r));
        // Decoded only now, after later reads: the request's bytes must still be its own.
        const { requestValue } = req.extended;
        return respond(
          encodeExtendedResponse(req.messageId, {
            resultCode: 0,
            matchedDN: '',
            diagnosticMessage: '',
            responseValue: requestValue,
          }),
        );
      }
      if (requestName === OID_VIRTUAL_BIND) {
        session.setBindState({ kind: 'virtual', dn: `uid=virtual,${PEOPLE}` });
        return respond(ok());
      }
      return PASS;
    },
  },
  {
    name: 'bind-replaced-then-virtual',
    opTags: [ProtocolOp.bindRequest],
    intercept(req, session) {
      if (req.bind.name !== VIRTUAL_VIA_BACKEND) return PASS;
      // The backend connection binds as the admin; the session's identity becomes the virtual DN.
      const frame = encodeBindRequest({
        messageId: req.messageId,
        version: 3,
        name: ADMIN_DN,
        authentication: { kind: 'simple', password: Buffer.from(ADMIN_PASSWORD) },
      });
      return forward({
        frame,
        observe: {
          onResponse(backendFrame) {
            session.setBindState({ kind: 'virtual', dn: VIRTUAL_VIA_BACKEND });
            return backendFrame;
          },
        },
      });
    },
  },
  {
    name: 'observe-searches',
    opTags: [ProtocolOp.searchRequest],
    intercept(_req, session) {
      const s = session.bindState;
      searchIdentities.push(s.kind === 'anonymous' ? s.kind : `${s.kind}:${s.dn}`);
      return forward({
        observe: { onResponse: (frame) => frame, onEnd: (reason) => void ends.push(reason) },
      });
    },
  },
];

let slapd: Slapd;
let proxy: ProxyServer;
let port: number;

before(async () => {
  slapd = await startSlapd();
  const config = buildServeConfig(
    {
      listen: ['ldap://127.0.0.1:0'],
      backend: [slapd.url],
      max_pdu_bytes_anonymous: 1000,
      max_pdu_bytes: 50_000,
    },
    {},
  );
  proxy = createProxyServer(config, { interceptors, log: pino({ level: 'silent' }) });
  await proxy.start();
  port = Number(new URL(proxy.urls[0] as string).port);
});

after(async () => {
  await proxy?.shutdown(0);
  await slapd?.destroy();
});

test('a local answer uses the response type of the request; PASS forwards', async () => {
  const client = new Client({ url: `ldap://127.0.0.1:${port}` });
  try {
    await client.bind(ADMIN_DN, ADMIN_PASSWORD);
    await assert.rejects(
      client.del(`cn=nothing,ou=Groups,${SUFFIX}`),
      (e: { code?: number; message: string }) => e.code === 53 && /not here/.test(e.message),
    );
    await assert.rejects(
      client.del(`uid=nobody,${PEOPLE}`),
      (e: { code?: number }) => e.code === ResultCode.noSuchObject,
    );
  } finally {
    await client.unbind();
  }
});

test('an interceptor error maps to its LDAP code; an unexpected rejection to other (80)', async () => {
  const client = new Client({ url: `ldap://127.0.0.1:${port}` });
  try {
    await assert.rejects(
      client.compare(`uid=user1,${PEOPLE}`, 'cn', 'User 1'),
      (e: { code?: number }) => e.code === 11,
    );
    await assert.rejects(client.exop(OID_BAD_VALUE), (e: { code?: number }) => e.code === 80);
  } finally {
    await client.unbind();
  }
});

test('a malformed request for an intercepted tag gets protocolError in its own response type', async () => {
  const c = await WireClient.open(port);
  try {
    // extendedReq whose requestName is missing: [APPLICATION 23] with an empty body.
    c.write(encodeMessage(4, Buffer.from('7700', 'hex')));
    const res = (await c.until(4, ProtocolOp.extendedResp)).pop()!;
    assert.equal(decodeExtendedResponse(res.frame).resultCode, ResultCode.protocolError);
  } finally {
    c.destroy();
  }
});

test('the request rewriter applies to every later forwarded request of that session only', async () => {
  const c = await WireClient.open(port);
  const other = await WireClient.open(port);
  try {
    c.write(encodeExtendedRequest({ messageId: 1, requestName: OID_CRITICAL_REWRITE }));
    assert.equal(
      decodeExtendedResponse((await c.until(1, ProtocolOp.extendedResp)).pop()!.frame).resultCode,
      0,
    );
    c.write(searchRequest(2, SUFFIX, 0));
    const refused = decodeResultResponse((await c.until(2, ProtocolOp.searchResDone)).pop()!.frame);
    assert.equal(refused.resultCode, ResultCode.unavailableCriticalExtension);
    other.write(searchRequest(2, SUFFIX, 0));
    assert.equal(
      decodeResultResponse((await other.until(2, ProtocolOp.searchResDone)).pop()!.frame).resultCode,
      0,
    );
  } finally {
    c.destroy();
    other.destroy();
  }
});

test('respondAndClose writes the answer, then closes', async () => {
  const c = await WireClient.open(port);
  c.write(encodeExtendedRequest({ messageId: 1, requestName: OID_GOODBYE }));
  assert.equal(decodeExtendedResponse((await c.next())!.frame).resultCode, 0);
  await c.waitClosed();
});

test('a virtual bind state switches the session to the post-bind PDU limit', async () => {
  const big = searchRequest(2, `cn=${'x'.repeat(2000)},${SUFFIX}`, 0);
  const c = await WireClient.open(port);
  try {
    c.write(encodeExtendedRequest({ messageId: 1, requestName: OID_VIRTUAL_BIND }));
    await c.until(1, ProtocolOp.extendedResp);
    c.write(big);
    assert.equal(
      decodeResultResponse((await c.until(2, ProtocolOp.searchResDone)).pop()!.frame).resultCode,
      ResultCode.noSuchObject,
    );
  } finally {
    c.destroy();
  }
  const anon = await WireClient.open(port);
  anon.write(big);
  const notice = decodeExtendedResponse((await anon.next())!.frame);
  assert.equal(notice.resultCode, ResultCode.protocolError);
  await anon.waitClosed();
});

test('observers end with done after the final response, and abandoned after an abandon', async () => {
  ends.length = 0;
  const c = await WireClient.open(port);
  try {
    c.write(searchRequest(1, SUFFIX, 0));
    await c.until(1, ProtocolOp.searchResDone);
    // A search and its abandon in one segment: the proxy ends the observer when it forwards the abandon.
    c.write(Buffer.concat([searchRequest(2, SUFFIX, 2), encodeMessage(3, Buffer.from('500102', 'hex'))]));
    c.write(searchRequest(4, SUFFIX, 0));
    await c.until(4, ProtocolOp.searchResDone);
  } finally {
    c.destroy();
  }
  assert.deepEqual(ends, ['done', 'abandoned', 'done']);
});

test('an observer that sets the bind state has the last word over the backend bind it observed', async () => {
  searchIdentities.length = 0;
  const client = new Client({ url: `ldap://127.0.0.1:${port}` });
  try {
    await client.bind(VIRTUAL_VIA_BACKEND, 'anything');
    await client.search(SUFFIX, { scope: 'base' });
    await client.bind(`uid=user3,${PEOPLE}`, 'pass3');
    await client.search(SUFFIX, { scope: 'base' });
  } finally {
    await client.unbind();
  }
  assert.deepEqual(searchIdentities, [`virtual:${VIRTUAL_VIA_BACKEND}`, `backend:uid=user3,${PEOPLE}`]);
});

test('requests arriving while an interceptor awaits are answered after it, and its bytes stay intact', async () => {
  const c = await WireClient.open(port);
  try {
    const value = Buffer.alloc(600, 0x41);
    c.write(encodeExtendedRequest({ messageId: 1, requestName: OID_SLOW_ECHO, requestValue: value }));
    // Each in its own read while the interceptor waits; every one reuses the session's read buffer.
    for (let id = 2; id <= 6; id++) {
      await new Promise((r) => setTimeout(r, 30));
      c.write(searchRequest(id, `ou=${'x'.repeat(700)},${SUFFIX}`, 0));
    }
    await new Promise((r) => setTimeout(r, 30));
    releaseSlowEcho();
    const first = await c.next();
    assert.equal(first?.messageId, 1);
    assert.deepEqual(decodeExtendedResponse(first.frame).responseValue, value);
    // slapd may answer pipelined searches in any order.
    const done: number[] = [];
    while (done.length < 5) {
      const f = await c.next();
      assert.ok(f, 'closed before every search was answered');
      if (f.opTag === ProtocolOp.searchResDone) done.push(f.messageId);
    }
    assert.deepEqual(done.sort(), [2, 3, 4, 5, 6]);
  } finally {
    c.destroy();
  }
});
