import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeTokenDer, parseToken, TokenError } from '../../src/token/index.js';
import { TOKEN_VECTORS } from './vectors.js';

const good = TOKEN_VECTORS[0]!.token_oneline;
const expected = parseToken(good);
const whitespace = fc.constantFrom(' ', '\t', '\r', '\n', '\r\n');

test('ASCII whitespace inserted anywhere never changes the parse', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length), whitespace), { maxLength: 40 }), (inserts) => {
      let s = good;
      for (const [at, ws] of [...inserts].sort((a, b) => b[0] - a[0])) s = s.slice(0, at) + ws + s.slice(at);
      assert.deepEqual(parseToken(s), expected);
    }),
    { numRuns: 300 },
  );
});

test('any mutation of the text or of the DER fails only with base64 or der, or parses canonically', () => {
  const der = Buffer.from(good, 'base64');
  fc.assert(
    fc.property(
      fc.nat(der.length - 1),
      fc.integer({ min: 0, max: 255 }),
      fc.nat(good.length - 1),
      fc.integer({ min: 0, max: 127 }),
      (di, dv, ti, tv) => {
        const mutatedDer = Buffer.from(der);
        mutatedDer[di] = dv;
        const text = good.slice(0, ti) + String.fromCharCode(tv) + good.slice(ti + 1);
        for (const value of [mutatedDer.toString('base64'), text]) {
          try {
            const parts = parseToken(value);
            // Whatever parses must re-encode to exactly the decoded bytes (strict DER, canonical base64).
            assert.equal(encodeTokenDer(parts).toString('base64'), value.replace(/[ \t\r\n]/g, ''));
          } catch (e) {
            if (!(e instanceof TokenError) || !['base64', 'der'].includes(e.errorClass)) throw e;
          }
        }
      },
    ),
    { numRuns: 1000 },
  );
});

test('random bytes as a token value never throw anything but TokenError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      for (const value of [Buffer.from(bytes), Buffer.from(bytes).toString('base64')]) {
        try {
          parseToken(value);
        } catch (e) {
          if (!(e instanceof TokenError)) throw e;
        }
      }
    }),
    { numRuns: 500 },
  );
});
