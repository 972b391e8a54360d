import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyProviderFlags } from '../../src/keys/index.js';
import { SERVE_SETTINGS } from '../../src/config/index.js';
import { KEY_PROVIDER_SETTINGS, VERIFY_SETTINGS } from '../../src/verify/settings.js';

test('the key-provider settings of serve match the key-provider flags of the other commands', () => {
  const flags = keyProviderFlags.map((f) => ({
    key: f.name.replaceAll('-', '_'),
    type: f.type,
    choices: f.choices,
  }));
  const settings = KEY_PROVIDER_SETTINGS.map((s) => ({
    key: s.key,
    type: s.type,
    choices: 'choices' in s ? s.choices : undefined,
  }));
  assert.deepEqual(settings, flags);
});

test('every verification setting is a serve setting (flag and config key)', () => {
  const keys = new Set<string>(SERVE_SETTINGS.map((s) => s.key));
  for (const s of [...KEY_PROVIDER_SETTINGS, ...VERIFY_SETTINGS]) assert.ok(keys.has(s.key), s.key);
  // The names issue 5 gives its flags.
  for (const k of [
    'service_bind_dn',
    'service_password_file',
    'users_base',
    'cert_repository_base',
    'virtual_suffix',
    'allow_plaintext_virtual_bind',
    'virtual_bind_authz',
    'verifier_dn',
    'cache_mode',
    'cache_ttl',
    'cache_max_entries',
    'check_token_writes',
    'token_reader_dn',
    'token_read_filter',
    'lockout_max_failures',
    'lockout_window',
    'lockout_duration',
  ]) {
    assert.ok(keys.has(k), k);
  }
});
