import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { deriveProofKeys } from '../../src/cmc/index.js';
import { computeWitness } from '../../src/cmc/builder.js';
import { OID } from '../../src/cmc/oids.js';

test('spec §7.2: K = SHA-512("Secret.123" || "testuser"), HMAC-SHA256 over a placeholder reqSequence', () => {
  const keys = deriveProofKeys(Buffer.from('Secret.123'), 'testuser');
  const witness = createHmac('sha256', keys.identityKey('sha512'))
    .update(Buffer.from('3003020101', 'hex'))
    .digest('hex');
  assert.equal(witness, '1863eadc08a44daacb6e7167ba7e6d0050d711ea2688cdd3c717e7c3386d1fd0');
});

test('spec §7.3: POP link witness, SHA-256 / HMAC-SHA256, R = 64 zero bytes', () => {
  const keys = deriveProofKeys(Buffer.from('Secret.123'), 'testuser');
  const witness = createHmac('sha256', keys.identityKey('sha256')).update(Buffer.alloc(64)).digest('hex');
  assert.equal(witness, '229f0258606ec59d8dfe8721d7461958c328460ff55bfd83de5f2bb674134d4f');
  const built = computeWitness(
    OID.sha256,
    OID.hmacSha256,
    Buffer.from('Secret.123'),
    'testuser',
    Buffer.alloc(64),
  );
  assert.equal(built.toString('hex'), witness);
});

test('keys use UTF-8 on both sides, with no separator', () => {
  const a = deriveProofKeys(Buffer.from('pässwörd', 'utf8'), 'zoë');
  const b = deriveProofKeys(Buffer.from('pässwördzo', 'utf8'), 'ë');
  for (const h of ['sha256', 'sha384', 'sha512'] as const) {
    assert.ok(a.identityKey(h).equals(b.identityKey(h)));
    assert.equal(a.identityKey(h).length, { sha256: 32, sha384: 48, sha512: 64 }[h]);
  }
});

test('the keys object does not show its keys when logged', () => {
  const keys = deriveProofKeys(Buffer.from('s'), 'u');
  const hex = keys.identityKey('sha256').toString('hex');
  assert.ok(!inspect(keys).includes(hex) && !JSON.stringify(keys).includes(hex));
  assert.equal(inspect(keys), '[ProofKeys]');
});
