// SASL binds through the proxy: multi-step exchanges pass as BER, and once a mechanism installs a security
// layer (DIGEST-MD5 with integrity/confidentiality) the proxy relays the wrapped stream without framing it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { buildServeConfig } from '../../src/config/index.js';
import { createProxyServer } from '../../src/server/index.js';
import type { ProxyServer } from '../../src/server/index.js';
import { run } from '../helpers/run.js';
import { CONFIG_DN, CONFIG_PASSWORD, PEOPLE, startSlapd } from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';

let slapd: Slapd;
let proxy: ProxyServer;
let proxyUrl: string;
let strict: ProxyServer;

before(async () => {
  slapd = await startSlapd();
  // slapd checks SASL passwords against the cleartext userPassword of the test DIT.
  const r = await run('ldapmodify', ['-x', '-H', slapd.url, '-D', CONFIG_DN, '-w', CONFIG_PASSWORD], {
    input: `dn: cn=config
changetype: modify
replace: olcSaslAuxprops
olcSaslAuxprops: slapd
-
replace: olcAuthzRegexp
olcAuthzRegexp: {0}"^uid=([^,]+),cn=[^,]+,cn=auth$" "uid=$1,${PEOPLE}"
`,
  });
  assert.equal(r.code, 0, r.stderr);
  const config = buildServeConfig(
    { listen: ['ldap://127.0.0.1:0'], backend: [slapd.url], allow_sasl_security_layer: true },
    {},
  );
  proxy = createProxyServer(config, { log: pino({ level: 'silent' }) });
  await proxy.start();
  proxyUrl = proxy.urls[0] as string;
  const strictConfig = buildServeConfig({ listen: ['ldap://127.0.0.1:0'], backend: [slapd.url] }, {});
  strict = createProxyServer(strictConfig, { log: pino({ level: 'silent' }) });
  await strict.start();
});

after(async () => {
  await proxy?.shutdown(0);
  await strict?.shutdown(0);
  await slapd?.destroy();
});

async function both(tool: string, args: string[]): Promise<[string, string]> {
  const direct = await run(tool, ['-H', slapd.url, ...args]);
  const proxied = await run(tool, ['-H', proxyUrl, ...args]);
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(proxied.code, 0, proxied.stderr);
  return [direct.stdout, proxied.stdout];
}

test('DIGEST-MD5 with a security layer (auth-conf): several operations inside the layer', async () => {
  const args = [
    '-Y',
    'DIGEST-MD5',
    '-U',
    'user7',
    '-w',
    'pass7',
    '-N',
    '-O',
    'minssf=56',
    '-LLL',
    '-b',
    PEOPLE,
    '(uid=user1*)',
    'cn',
  ];
  const [direct, proxied] = await both('ldapsearch', args);
  assert.match(direct, /^cn: User 17$/m);
  assert.equal(proxied, direct);
});

test('DIGEST-MD5 without a layer (maxssf=0) stays BER and is framed as usual', async () => {
  const [direct, proxied] = await both('ldapwhoami', [
    '-Y',
    'DIGEST-MD5',
    '-U',
    'user8',
    '-w',
    'pass8',
    '-N',
    '-O',
    'maxssf=0',
  ]);
  assert.equal(direct.trim(), `dn:uid=user8,${PEOPLE.toLowerCase()}`);
  assert.equal(proxied, direct);
});

test('the proxy keeps serving other clients after layered sessions', async () => {
  const [direct, proxied] = await both('ldapsearch', ['-x', '-LLL', '-b', PEOPLE, '(uid=user3)', 'uid']);
  assert.equal(proxied, direct);
});

test('by default a security layer is refused: the session is closed, layer-free SASL still works', async () => {
  const layered = await run('ldapwhoami', [
    '-H',
    strict.urls[0] as string,
    '-Y',
    'DIGEST-MD5',
    '-U',
    'user9',
    '-w',
    'pass9',
    '-N',
    '-O',
    'minssf=56',
  ]);
  assert.notEqual(layered.code, 0, layered.stdout);
  const plain = await run('ldapwhoami', [
    '-H',
    strict.urls[0] as string,
    '-Y',
    'DIGEST-MD5',
    '-U',
    'user9',
    '-w',
    'pass9',
    '-N',
    '-O',
    'maxssf=0',
  ]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout.trim(), `dn:uid=user9,${PEOPLE.toLowerCase()}`);
});
