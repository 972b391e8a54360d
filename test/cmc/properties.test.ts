// Property tests: mutated requests never make the verifier throw past CmcParseError, and a request whose
// covered bytes changed is never accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import fc from 'fast-check';
import {
  buildEnrollmentRequest,
  buildRevocationRequest,
  CmcParseError,
  decodeCmcRequest,
  deriveProofKeys,
  precheckEnrollment,
  verifyEnrollment,
  verifyRevocationWithSecret,
} from '../../src/cmc/index.js';
import type { CmcResult } from '../../src/cmc/index.js';
import { OID } from '../../src/cmc/oids.js';
import { mutate, nodes, parseTree } from './der-tree.js';
import type { Mutation } from './der-tree.js';
import { enrollmentVectors, fixture, requestKeyPem } from './fixtures.js';

const key = createPrivateKey(requestKeyPem(1));

interface Sample {
  name: string;
  der: Buffer;
  secret: Buffer;
  identification: string;
  eContent: Buffer;
}

const samples: Sample[] = [
  ...enrollmentVectors()
    .filter((v) => v.expected.ok)
    .map((v) => ({
      name: v.id,
      der: fixture(v.der_file),
      secret: Buffer.from(v.shared_secret_utf8_hex, 'hex'),
      identification: v.identification,
    })),
  ...(['pkcs10', 'crmf'] as const).map((format) => {
    const w = { hashOid: OID.sha384, macOid: OID.hmacSha384 };
    const built = buildEnrollmentRequest({
      format,
      key,
      secret: 'pässwörd',
      identification: 'zoë',
      identityProof: w,
      popLink: w,
    });
    return {
      name: `built-${format}`,
      der: built.der,
      secret: Buffer.from('pässwörd'),
      identification: 'zoë',
    };
  }),
].map((s) => ({ ...s, eContent: Buffer.from(decodeCmcRequest(s.der).eContent) }));

/** Decode + verify as the proxy would; CmcParseError becomes null, anything else thrown fails the property. */
function verifyAll(
  input: Buffer,
  sample: Sample,
  requirePopLink: boolean,
): { result: CmcResult; eContent: Buffer } | null {
  let req;
  try {
    req = decodeCmcRequest(input);
  } catch (e) {
    if (e instanceof CmcParseError) return null;
    throw e;
  }
  const opts = { requirePopLink };
  const early = precheckEnrollment(req, opts);
  if (early) return { result: early, eContent: req.eContent };
  assert.ok(req.identification);
  const result = verifyEnrollment(req, deriveProofKeys(sample.secret, req.identification), opts);
  return { result, eContent: req.eContent };
}

/** If the request is accepted, what it says (PKIData, identification) is what was sent. */
function assertNothingChangedIfOk(out: ReturnType<typeof verifyAll>, sample: Sample): void {
  if (!out?.result.ok) return;
  assert.ok(out.eContent.equals(sample.eContent), `${sample.name}: accepted a changed PKIData`);
  assert.equal(out.result.identification, sample.identification);
}

const sampleArb = fc.constantFrom(...samples);

test('every sample verifies before mutation', () => {
  for (const s of samples) assert.equal(verifyAll(s.der, s, false)?.result.ok, true, s.name);
});

test('byte mutations anywhere: only CmcParseError, and never ok for a changed PKIData', () => {
  fc.assert(
    fc.property(sampleArb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (s, pos, xor, pop) => {
      const input = Buffer.from(s.der);
      const at = pos % input.length;
      input[at] = input[at]! ^ xor;
      assertNothingChangedIfOk(verifyAll(input, s, pop), s);
    }),
    { numRuns: 1000 },
  );
});

test('byte mutations inside the signed PKIData are never accepted', () => {
  fc.assert(
    fc.property(sampleArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (s, pos, xor) => {
      const start = s.der.indexOf(s.eContent);
      const input = Buffer.from(s.der);
      const at = start + (pos % s.eContent.length);
      input[at] = input[at]! ^ xor;
      assert.notEqual(verifyAll(input, s, false)?.result.ok, true);
    }),
    { numRuns: 500 },
  );
});

test('truncations and insertions: only CmcParseError, never ok', () => {
  fc.assert(
    fc.property(sampleArb, fc.nat(), fc.uint8Array({ minLength: 0, maxLength: 8 }), (s, pos, extra) => {
      const at = pos % s.der.length;
      const cut = verifyAll(s.der.subarray(0, at), s, false);
      assert.notEqual(cut?.result.ok, true);
      const inserted = Buffer.concat([s.der.subarray(0, at), extra, s.der.subarray(at)]);
      assertNothingChangedIfOk(verifyAll(inserted, s, false), s);
    }),
    { numRuns: 500 },
  );
});

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom<Mutation>(
    { op: 'delete' },
    { op: 'duplicate' },
    { op: 'swap' },
    { op: 'wrap' },
    { op: 'emptyValue' },
  ),
  fc.integer({ min: 0, max: 255 }).map((tag): Mutation => ({ op: 'retag', tag })),
  fc.uint8Array({ maxLength: 40 }).map((bytes): Mutation => ({ op: 'replaceValue', bytes })),
);

test('structural mutations (delete, duplicate, swap, wrap, retag, replace): never ok for a changed PKIData', () => {
  fc.assert(
    fc.property(sampleArb, fc.nat(), mutationArb, fc.boolean(), (s, index, m, pop) => {
      assertNothingChangedIfOk(verifyAll(mutate(s.der, index, m), s, pop), s);
    }),
    { numRuns: 1000 },
  );
});

test('structural mutations inside reqSequence, re-signed with the request key, fail without the secret', () => {
  // An attacker who holds the request key can re-sign everything; only the MACs stop a changed request.
  const base = { key, secret: 'Secret.123', identification: 'testuser', popLink: {} };
  fc.assert(
    fc.property(
      fc.constantFrom('pkcs10' as const, 'crmf' as const),
      fc.nat(),
      mutationArb,
      (format, index, m) => {
        let changed = false;
        const built = buildEnrollmentRequest({
          ...base,
          format,
          mutateReqSequence: (seq) => {
            const out = mutate(seq, index % nodes(parseTree(seq)).length, m);
            changed = !out.equals(seq);
            return out;
          },
        });
        const out = verifyAll(built.der, { ...samples[0]!, secret: Buffer.from(base.secret) }, false);
        if (changed) assert.notEqual(out?.result.ok, true, `${format} ${JSON.stringify(m)}`);
      },
    ),
    { numRuns: 100 },
  );
});

test('a different identification with the same secret never verifies', () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
      fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
      (a, b) => {
        fc.pre(
          Buffer.from(a, 'utf8').toString('utf8') === a &&
            Buffer.from(b, 'utf8').toString('utf8') === b &&
            a !== b,
        );
        const built = buildEnrollmentRequest({
          format: 'pkcs10',
          key,
          secret: 's',
          identification: b,
          identityProof: { identification: a },
        });
        const req = decodeCmcRequest(built.der);
        assert.equal(
          verifyEnrollment(req, deriveProofKeys(Buffer.from('s'), b), {}).failedCheck,
          'identity_proof',
        );
      },
    ),
    { numRuns: 60 },
  );
});

test('revocation requests: mutations never throw past CmcParseError and never match a different passphrase', () => {
  const secret = Buffer.from('Revoke.Secret-123');
  const der = buildRevocationRequest({
    issuer: 'CN=CA,O=Example',
    serial: 2n ** 70n,
    passphrase: secret,
  }).der;
  fc.assert(
    fc.property(fc.nat(), mutationArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (index, m, pos, xor) => {
      const bytes = Buffer.from(der);
      const at = pos % bytes.length;
      bytes[at] = bytes[at]! ^ xor;
      for (const input of [mutate(der, index, m), bytes]) {
        let req;
        try {
          req = decodeCmcRequest(input);
        } catch (e) {
          if (e instanceof CmcParseError) continue;
          throw e;
        }
        const r = verifyRevocationWithSecret(req, secret);
        if (r.ok) assert.ok(req.revocation?.passphrase?.equals(secret));
      }
    }),
    { numRuns: 500 },
  );
});
