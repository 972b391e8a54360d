import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  createToken,
  describeLineFormat,
  describeTokenDer,
  formatToken,
  parseToken,
  timingSafeEqualBytes,
  TokenError,
} from '../../src/token/index.js';
import { issuancePublicKey, structuralCases, TOKEN_VECTORS } from './vectors.js';

function errorClassOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TokenError) return e.errorClass;
    throw e;
  }
  return 'none';
}

test('every vector parses in both forms and with whitespace anywhere', () => {
  for (const v of TOKEN_VECTORS) {
    const a = parseToken(v.token);
    const b = parseToken(v.token_oneline);
    assert.deepEqual(a, b, v.id);
    assert.equal(a.wrappedKey.length, 256, v.id);
    assert.equal(a.ciphertext.length % 16, 0, v.id);
    const sprinkled = v.token_oneline.replace(/(.{7})/g, '$1 \t').replace(/(.{50})/g, '$1\n\r');
    assert.deepEqual(parseToken(` \r\n${sprinkled}\t\n`), a, v.id);
    assert.deepEqual(parseToken(Buffer.from(v.token, 'latin1')), a, `${v.id} as Buffer`);
  }
});

test('malformed values give base64 or der', () => {
  for (const c of structuralCases())
    assert.equal(
      errorClassOf(() => parseToken(c.value)),
      c.errorClass,
      c.name,
    );
  // Non-ASCII bytes in a Buffer value are refused too.
  assert.equal(
    errorClassOf(() => parseToken(Buffer.from([0xc3, 0xa9, 0x41, 0x41]))),
    'base64',
  );
});

test('created tokens have the spec DER layout: 30 82 01 16 04 82 01 00 … 04 10 for ≤ 15 bytes', () => {
  const pub = issuancePublicKey();
  for (const wrap of ['rsa-pkcs1v15', 'rsa-oaep-sha256'] as const) {
    for (const [pass, ctLen, header] of [
      ['', 16, '30820116048201'],
      ['fifteen-bytes!!', 16, '30820116048201'],
      ['sixteen-bytes!!!', 32, '30820126048201'],
    ] as const) {
      const der = createToken(Buffer.from(pass), pub, wrap);
      assert.equal(der.subarray(0, 7).toString('hex'), header);
      assert.equal(der.subarray(4, 8).toString('hex'), '04820100');
      assert.equal(
        der.subarray(4 + 4 + 256, 4 + 4 + 256 + 2).toString('hex'),
        `04${ctLen.toString(16).padStart(2, '0')}`,
      );
      assert.equal(der.length, 4 + 4 + 256 + 2 + ctLen);
      const layout = describeTokenDer(der);
      assert.equal(layout.wrappedKey.bytes, 256);
      assert.equal(layout.ciphertext.bytes, ctLen);
      if (ctLen === 16) assert.equal(layout.header, '30 82 01 16 04 82 01 00 … 04 10');
    }
  }
});

test('a fresh session key every time', () => {
  const pub = issuancePublicKey();
  const a = parseToken(createToken(Buffer.from('same'), pub, 'rsa-pkcs1v15').toString('base64'));
  const b = parseToken(createToken(Buffer.from('same'), pub, 'rsa-pkcs1v15').toString('base64'));
  assert.notDeepEqual(a.ciphertext, b.ciphertext);
});

test('formatToken writes 76-column CRLF lines with a trailing CRLF, byte-identical to CMCSharedToken', () => {
  for (const v of TOKEN_VECTORS) {
    const der = Buffer.from(v.token_oneline, 'base64');
    assert.equal(formatToken(der), v.token, v.id);
    assert.equal(formatToken(der, { oneline: true }), v.token_oneline, v.id);
  }
});

test('describeLineFormat recognises the writers', () => {
  const v = TOKEN_VECTORS[0]!;
  const jss = describeLineFormat(v.token);
  assert.equal(jss.kind, 'lines');
  assert.equal(jss.columns, 76);
  assert.equal(jss.lineEnding, 'CRLF');
  assert.equal(jss.trailingNewline, true);
  assert.match(jss.matches ?? '', /JSS >= 4\.7/);
  const one = describeLineFormat(v.token_oneline);
  assert.equal(one.kind, 'oneline');
  assert.equal(one.trailingNewline, false);
  const old = v.token_oneline.replace(/(.{64})/g, '$1\r\n') + '\r\n';
  const oldFmt = describeLineFormat(old);
  assert.equal(oldFmt.columns, 64);
  assert.match(oldFmt.matches ?? '', /64 columns/);
  const lf = describeLineFormat(v.token.replaceAll('\r\n', '\n'));
  assert.equal(lf.lineEnding, 'LF');
  assert.equal(lf.matches, null);
  assert.equal(describeLineFormat(v.token_oneline.replace(/(.{10})/, '$1 ')).kind, 'irregular');
});

test('timingSafeEqualBytes', () => {
  assert.equal(timingSafeEqualBytes(Buffer.from('abc'), Buffer.from('abc')), true);
  assert.equal(timingSafeEqualBytes(Buffer.from('abc'), Buffer.from('abd')), false);
  assert.equal(timingSafeEqualBytes(Buffer.from('abc'), Buffer.from('abcd')), false);
  assert.equal(timingSafeEqualBytes(Buffer.alloc(0), Buffer.alloc(0)), true);
});

test('createToken refuses a non-RSA key', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assert.throws(() => createToken(Buffer.from('x'), publicKey, 'rsa-pkcs1v15'), /must be RSA/);
});
