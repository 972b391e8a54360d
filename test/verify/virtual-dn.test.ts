import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualDnParser } from '../../src/verify/index.js';

test('virtual bind DNs under the default suffix', () => {
  const p = new VirtualDnParser();
  assert.deepEqual(p.parse('uid=alice,cn=shared-token'), { kind: 'uid', identification: 'alice' });
  assert.deepEqual(p.parse('UID=alice, CN=Shared-Token'), { kind: 'uid', identification: 'alice' });
  assert.deepEqual(p.parse('0.9.2342.19200300.100.1.1=bob,cn=shared-token'), {
    kind: 'uid',
    identification: 'bob',
  });
  assert.deepEqual(p.parse('serialNumber=4097,cn=shared-token'), { kind: 'serial', serial: '4097' });
  assert.deepEqual(p.parse('serialnumber=004097,cn=shared-token'), { kind: 'serial', serial: '4097' });
  assert.deepEqual(p.parse('serialNumber=340282366920938463463374607431768211457,cn=shared-token'), {
    kind: 'serial',
    serial: '340282366920938463463374607431768211457',
  });
});

test('RFC 4514 unescaping of the value', () => {
  const p = new VirtualDnParser();
  assert.deepEqual(p.parse('uid=a\\,b\\+c\\=d,cn=shared-token'), { kind: 'uid', identification: 'a,b+c=d' });
  assert.deepEqual(p.parse('uid=\\c3\\a4li,cn=shared-token'), { kind: 'uid', identification: 'äli' });
  assert.deepEqual(p.parse('uid=\\20x\\20,cn=shared-token'), { kind: 'uid', identification: ' x ' });
  assert.deepEqual(p.parse('uid=x  ,cn=shared-token'), { kind: 'uid', identification: 'x' });
  assert.deepEqual(p.parse('uid=*,cn=shared-token'), { kind: 'uid', identification: '*' });
  assert.deepEqual(p.parse('uid=a)(uid=\\2a,cn=shared-token'), { kind: 'uid', identification: 'a)(uid=*' });
  assert.deepEqual(p.parse('uid=日本🔑,cn=shared-token'), { kind: 'uid', identification: '日本🔑' });
});

test('anything else under the suffix is invalid; other DNs are not ours', () => {
  const p = new VirtualDnParser();
  for (const dn of [
    'cn=shared-token',
    'cn=x,cn=shared-token',
    'uid=,cn=shared-token',
    'uid=a+cn=b,cn=shared-token',
    'uid=a,ou=x,cn=shared-token',
    'serialNumber=12a,cn=shared-token',
    'serialNumber=-1,cn=shared-token',
    'serialNumber=,cn=shared-token',
    'uid=#04016,cn=shared-token',
    'uid=a\\zz,cn=shared-token',
    'uid=\\ff,cn=shared-token',
    'uid=a"b,cn=shared-token',
  ]) {
    assert.deepEqual(p.parse(dn), { kind: 'invalid' }, dn);
  }
  for (const dn of [
    '',
    'uid=alice,ou=People,dc=example,dc=com',
    'cn=shared-token,dc=example',
    'cn=shared-tokens',
    'cn=admin',
  ]) {
    assert.deepEqual(p.parse(dn), { kind: 'none' }, dn);
  }
});

test('a configured suffix', () => {
  const p = new VirtualDnParser('ou=Tokens, o=PKI');
  assert.deepEqual(p.parse('uid=x,ou=tokens,o=pki'), { kind: 'uid', identification: 'x' });
  assert.deepEqual(p.parse('uid=x,cn=shared-token'), { kind: 'none' });
  assert.throws(() => new VirtualDnParser(''), /not a DN/);
});
