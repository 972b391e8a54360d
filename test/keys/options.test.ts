import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, UsageError } from '../../src/cli/args.js';
import {
  DEFAULT_NSS_MODULE,
  DEFAULT_NSS_TOKEN,
  KEY_PROVIDER_CONFIG_KEYS,
  KeyProviderConfigError,
  keyProviderFlags,
  keyProviderOptionsFromConfig,
  keyProviderOptionsFromFlags,
} from '../../src/keys/index.js';

const fromArgv = (argv: string[]) => keyProviderOptionsFromFlags(parseArgs(argv, keyProviderFlags).flags);

test('PKCS#11 flags and the equivalent config give the same options', () => {
  const a = fromArgv([
    '--pkcs11-module',
    '/usr/lib/softhsm/libsofthsm2.so',
    '--pkcs11-token',
    'T',
    '--pkcs11-pin-file',
    '/p',
    '--key-label',
    'ipc',
    '--wrap',
    'auto',
    '--pkcs11-sessions',
    '8',
  ]);
  const b = keyProviderOptionsFromConfig({
    pkcs11_module: '/usr/lib/softhsm/libsofthsm2.so',
    pkcs11_token: 'T',
    pkcs11_pin_file: '/p',
    key_label: 'ipc',
    wrap: 'auto',
    pkcs11_sessions: 8,
    listen: 'ignored by this module',
  });
  assert.deepEqual(a, b);
  assert.deepEqual(a, {
    kind: 'pkcs11',
    module: '/usr/lib/softhsm/libsofthsm2.so',
    token: 'T',
    pinFile: '/p',
    keyLabel: 'ipc',
    wrap: 'auto',
    sessions: 8,
  });
});

test('pem options; default wrap is rsa-pkcs1v15', () => {
  assert.deepEqual(fromArgv(['--key-pem', 'k.pem']), {
    kind: 'pem',
    keyPem: 'k.pem',
    allowSoftwareKey: false,
    wrap: 'rsa-pkcs1v15',
  });
  assert.deepEqual(keyProviderOptionsFromConfig({ key_pem: 'k.pem', allow_software_key: true }), {
    kind: 'pem',
    keyPem: 'k.pem',
    allowSoftwareKey: true,
    wrap: 'rsa-pkcs1v15',
  });
});

test('-d DIR -n NICK maps to --nss-db DIR --key-label NICK with softokn', () => {
  assert.deepEqual(
    fromArgv(['--nss-db', '/var/lib/pki/ca/alias', '--key-label', 'issuance', '--key-id', 'A1B2']),
    {
      kind: 'pkcs11',
      module: DEFAULT_NSS_MODULE,
      token: DEFAULT_NSS_TOKEN,
      keyLabel: 'issuance',
      keyId: 'a1b2',
      nssDb: '/var/lib/pki/ca/alias',
      wrap: 'rsa-pkcs1v15',
    },
  );
});

test('no key settings gives undefined; bad combinations are usage or config errors', () => {
  assert.equal(fromArgv([]), undefined);
  assert.equal(keyProviderOptionsFromConfig({}), undefined);
  assert.throws(() => fromArgv(['--key-pem', 'k', '--pkcs11-module', 'm']), UsageError);
  assert.throws(() => fromArgv(['--pkcs11-module', 'm']), /key-label or key-id/);
  assert.throws(() => fromArgv(['--key-label', 'x']), /pkcs11-module/);
  assert.throws(() => fromArgv(['--pkcs11-module', 'm', '--key-id', 'xyz']), /hex/);
  assert.throws(() => fromArgv(['--wrap', 'rsa']), UsageError);
  assert.throws(() => keyProviderOptionsFromConfig({ key_pem: 'k', wrap: 'oaep' }), KeyProviderConfigError);
  assert.throws(() => keyProviderOptionsFromConfig({ key_pem: 7 }), KeyProviderConfigError);
  assert.ok(KEY_PROVIDER_CONFIG_KEYS.includes('pkcs11_pin_file'));
});
