// Property tests for every decoder that sees client bytes: the LDAP envelope and the requests the proxy
// inspects (bind, extended, add, modify, abandon), the responses it reads, the verify extended operation
// value, the virtual bind DN, the PROXY protocol header, the shrTok value and the CMC request. On random
// and mutated input each throws only its module's error type; on well-formed input it round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { BerError } from '../../src/ber/index.js';
import { CmcParseError, decodeCmcRequest } from '../../src/cmc/index.js';
import {
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
  encodeExtendedRequest,
  encodeModifyRequest,
  readResultCode,
  withControl,
} from '../../src/ldap/index.js';
import { TokenError } from '../../src/keys/provider.js';
import { ProxyProtocolError, parseProxyHeader } from '../../src/proxy-protocol/index.js';
import { InterceptedRequest } from '../../src/session/index.js';
import { parseToken } from '../../src/token/index.js';
import {
  VerifyProtocolError,
  VirtualDnParser,
  decodeVerifyRequest,
  decodeVerifyResponse,
  encodeVerifyRequest,
} from '../../src/verify/index.js';
import { loadCorpora } from '../helpers/corpora.js';
import { mutate, tapeRand } from './mutate.js';
import { seedPdus } from './pdus.js';

const corpora = loadCorpora();
const SEEDS = seedPdus();
const POOL = [...SEEDS, ...corpora.cases.filter((c) => c.bytes.length <= 4096).map((c) => c.bytes)];

/** Arbitrary bytes, or a mutation of one of `seeds` (splicing from the pool). */
function inputs(seeds: readonly Buffer[], maxRandom = 512): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.uint8Array({ maxLength: maxRandom, size: 'max' }).map((a) => Buffer.from(a)),
    fc
      .tuple(fc.nat(seeds.length - 1), fc.array(fc.nat(), { minLength: 1, maxLength: 24, size: 'max' }))
      .map(([i, tape]) => mutate(seeds[i] as Buffer, tapeRand(tape), POOL)),
  );
}

/** Runs decode; any throw other than `allowed` fails the property with the input in hex. */
function onlyThrows(allowed: (e: unknown) => boolean, decode: (b: Buffer) => unknown): (b: Buffer) => void {
  return (b) => {
    try {
      decode(b);
    } catch (e) {
      if (!allowed(e)) {
        throw new Error(
          `unexpected ${(e as Error)?.name}: ${(e as Error)?.message} on ${b.toString('hex')}`,
          {
            cause: e,
          },
        );
      }
    }
  };
}

const isBer = (e: unknown): boolean => e instanceof BerError;

const LDAP_DECODERS: [string, (b: Buffer) => unknown][] = [
  ['decodeEnvelope', decodeEnvelope],
  ['decodeBindRequest', decodeBindRequest],
  ['decodeExtendedRequest', decodeExtendedRequest],
  ['decodeAddRequest', decodeAddRequest],
  ['decodeModifyRequest', decodeModifyRequest],
  ['decodeAbandonRequest', decodeAbandonRequest],
  ['decodeSearchResultEntry', decodeSearchResultEntry],
  ['decodeBindResponse', decodeBindResponse],
  ['decodeExtendedResponse', decodeExtendedResponse],
  ['decodeResultResponse', decodeResultResponse],
  ['readResultCode', readResultCode],
  ['withControl', (b) => withControl(b, { type: '2.16.840.1.113730.3.4.18', critical: true })],
];

for (const [name, decode] of LDAP_DECODERS) {
  test(`${name}: only BerError on random and mutated PDUs`, () => {
    fc.assert(fc.property(inputs(POOL), onlyThrows(isBer, decode)), { numRuns: 1500 });
  });
}

test('InterceptedRequest lazy decoders: only BerError', () => {
  fc.assert(
    fc.property(
      inputs(SEEDS),
      fc.constantFrom('envelope', 'bind', 'extended', 'add', 'modify'),
      (b, which) => {
        onlyThrows(isBer, (x) => new InterceptedRequest(x, 1, x[2] ?? 0)[which as 'bind'])(b);
      },
    ),
    { numRuns: 1500 },
  );
});

const text = fc.string({ maxLength: 40, unit: 'grapheme' });
const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
const messageId = fc.integer({ min: 1, max: 0x7fffffff });
const attribute = fc.record(
  { type: text, values: fc.array(bytes, { maxLength: 4 }) },
  { noNullPrototype: true },
);

test('bind, extended, add and modify requests round-trip through encode and decode', () => {
  fc.assert(
    fc.property(
      messageId,
      text,
      bytes,
      fc.option(bytes, { nil: undefined }),
      fc.array(attribute, { maxLength: 4 }),
      fc.array(
        fc.record(
          { operation: fc.integer({ min: 0, max: 3 }), modification: attribute },
          { noNullPrototype: true },
        ),
        {
          maxLength: 4,
        },
      ),
      (id, name, secret, value, attributes, changes) => {
        const bind = decodeBindRequest(
          encodeBindRequest({
            messageId: id,
            version: 3,
            name,
            authentication: { kind: 'simple', password: secret },
          }),
        );
        assert.deepEqual(
          [bind.messageId, bind.name, bind.authentication],
          [id, name, { kind: 'simple', password: secret }],
        );
        const ext = decodeExtendedRequest(
          encodeExtendedRequest({ messageId: id, requestName: name, requestValue: value }),
        );
        assert.deepEqual([ext.requestName, ext.requestValue], [name, value]);
        const add = decodeAddRequest(encodeAddRequest({ messageId: id, entry: name, attributes }));
        assert.deepEqual(add.attributes, attributes);
        const mod = decodeModifyRequest(encodeModifyRequest({ messageId: id, object: name, changes }));
        assert.deepEqual(mod.changes, changes);
      },
    ),
    { numRuns: 500 },
  );
});

// ---- verification inputs: the verify extended operation value and the virtual bind DN -----------------

const verifySeeds = [
  encodeVerifyRequest({ subject: { identification: 'user1' }, passphrase: Buffer.from('secret') }),
  encodeVerifyRequest({ subject: { serial: '12345678901234567890' }, cmcRequest: Buffer.from([0x30, 0]) }),
  encodeVerifyRequest({ cmcRequest: Buffer.alloc(300, 0x41) }),
];

test('decodeVerifyRequest / decodeVerifyResponse: only VerifyProtocolError', () => {
  const allowed = (e: unknown): boolean => e instanceof VerifyProtocolError;
  fc.assert(fc.property(inputs(verifySeeds), onlyThrows(allowed, decodeVerifyRequest)), { numRuns: 2000 });
  fc.assert(fc.property(inputs(verifySeeds), onlyThrows(allowed, decodeVerifyResponse)), { numRuns: 1000 });
});

test('VirtualDnParser.parse never throws on any bind name', () => {
  const parser = new VirtualDnParser();
  const dnLike = fc
    .array(
      fc.constantFrom(
        'uid=',
        'serialNumber=',
        'cn=shared-token',
        ',',
        '+',
        '\\',
        '\\2c',
        '"',
        '=',
        ' ',
        '#04',
        '0',
        'a',
        '\u00e9',
        '\0',
      ),
      {
        maxLength: 30,
      },
    )
    .map((parts) => parts.join(''));
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200, unit: 'binary' }), dnLike), (dn) => {
      const r = parser.parse(dn);
      assert.ok(['none', 'invalid', 'uid', 'serial'].includes(r.kind));
    }),
    { numRuns: 3000 },
  );
});

// ---- PROXY protocol header and shrTok value ---------------------------------------------------------------

test('parseProxyHeader: only ProxyProtocolError', () => {
  const v1 = Buffer.from('PROXY TCP4 192.0.2.1 192.0.2.2 56324 389\r\n');
  const v2 = Buffer.concat([
    Buffer.from([
      0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
    ]),
    Buffer.from([192, 0, 2, 1, 192, 0, 2, 2, 0xdc, 0x04, 0x01, 0x85]),
  ]);
  const allowed = (e: unknown): boolean => e instanceof ProxyProtocolError;
  fc.assert(fc.property(inputs([v1, v2], 128), onlyThrows(allowed, parseProxyHeader)), { numRuns: 3000 });
});

test('parseToken: only TokenError', () => {
  const der = Buffer.from('3010040401020304040801020304050607 08'.replaceAll(' ', ''), 'hex');
  const seeds = [der, Buffer.from(der.toString('base64'))];
  const allowed = (e: unknown): boolean => e instanceof TokenError;
  fc.assert(fc.property(inputs(seeds, 128), onlyThrows(allowed, parseToken)), { numRuns: 2000 });
});

// ---- CMC ---------------------------------------------------------------------------------------------------

const CMC_DIR = fileURLToPath(new URL('../fixtures/cmc/cmc/', import.meta.url));
const cmcSeeds = readdirSync(CMC_DIR)
  .sort()
  .map((f) => readFileSync(CMC_DIR + f));

test(`decodeCmcRequest: only CmcParseError on mutated requests (${cmcSeeds.length} seeds)`, () => {
  const allowed = (e: unknown): boolean => e instanceof CmcParseError;
  fc.assert(fc.property(inputs(cmcSeeds, 2048), onlyThrows(allowed, decodeCmcRequest)), { numRuns: 600 });
});

test('decodeCmcRequest: nesting and size bombs are refused with CmcParseError', () => {
  const nest = (depth: number): Buffer => {
    let b = Buffer.from([0x05, 0x00]);
    for (let i = 0; i < depth; i++) {
      const len = b.length;
      const head =
        len < 0x80
          ? Buffer.from([0x30, len])
          : Buffer.from([0x30, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff]);
      b = Buffer.concat([head, b]);
    }
    return b;
  };
  for (const input of [
    nest(5000),
    Buffer.concat([Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]), Buffer.alloc(16)]),
    Buffer.alloc(300 * 1024, 0x41),
    Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----\n'),
  ]) {
    assert.throws(() => decodeCmcRequest(input), CmcParseError);
  }
});
