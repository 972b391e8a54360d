// python-ldap (libldap) clients through the proxy: SASL multi-step binds, syncrepl refreshAndPersist fed by
// changes made directly on slapd, abandon, unknown extended operations, and many operations in flight.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_DN, ADMIN_PASSWORD, CONFIG_DN, CONFIG_PASSWORD, PEOPLE, SUFFIX } from '../helpers/slapd.js';
import { assertSame, both, ldapTool, runPython, startStack } from './fixture.js';
import { startProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/run.js';
import type { Stack } from './fixture.js';

let stack: Stack;
before(async () => {
  stack = await startStack();
  // slapd's own password store for SASL (cleartext userPassword in the test DIT) and a SASL->DN mapping
  const r = await ldapTool('ldapmodify', stack.slapd.url, ['-x', '-D', CONFIG_DN, '-w', CONFIG_PASSWORD], {
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
});
after(async () => {
  await stack?.stop();
});

const COMMON = `
import json, sys, time, ldap
from ldap.ldapobject import SimpleLDAPObject
proxy_url, direct_url, base, admin_dn, admin_pw = sys.argv[1:6]
def conn(url):
    c = ldap.initialize(url)
    c.protocol_version = 3
    c.set_option(ldap.OPT_REFERRALS, 0)
    c.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
    c.set_option(ldap.OPT_TIMEOUT, 20)
    return c
`;

const pyArgs = () => [stack.proxy.url(), stack.slapd.url, SUFFIX, ADMIN_DN, ADMIN_PASSWORD];

for (const mech of ['CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256']) {
  test(`SASL ${mech} bind (multi-step) gives the same identity as direct`, async () => {
    const r = assertSame(await both(stack, 'ldapwhoami', ['-Y', mech, '-U', 'user6', '-w', 'pass6', '-N']));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `dn:uid=user6,ou=people,${SUFFIX}`);
  });
}

test('SASL DIGEST-MD5 bind without a security layer gives the same identity as direct', async () => {
  const r = assertSame(
    await both(stack, 'ldapwhoami', [
      '-Y',
      'DIGEST-MD5',
      '-O',
      'maxssf=0',
      '-U',
      'user7',
      '-w',
      'pass7',
      '-N',
    ]),
  );
  assert.equal(r.code, 0, r.stderr);
});

const DIGEST_WITH_LAYER = [
  '-Y',
  'DIGEST-MD5',
  '-U',
  'user7',
  '-w',
  'pass7',
  '-N',
  '-LLL',
  '-b',
  PEOPLE,
  '(uid=user7)',
  'cn',
];

test('a SASL security layer (DIGEST-MD5, SSF 128) is refused by default, with the reason logged', async () => {
  const r = await ldapTool('ldapsearch', stack.proxy.url(), DIGEST_WITH_LAYER);
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  await waitFor(
    () => stack.proxy.stderr.includes('SASL security layer refused'),
    10_000,
    'the refusal log line',
  );
  assert.ok(stack.proxy.alive);
});

test('with --allow-sasl-security-layer, DIGEST-MD5 with SSF 128 gives the same search result as direct', async () => {
  const layered = await startProxy({
    backends: [stack.slapd.url],
    extraArgs: ['--allow-sasl-security-layer'],
  });
  try {
    const direct = await ldapTool('ldapsearch', stack.slapd.url, DIGEST_WITH_LAYER);
    const proxied = await ldapTool('ldapsearch', layered.url(), DIGEST_WITH_LAYER);
    const r = assertSame({ direct, proxied });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /SASL SSF: 128/);
    assert.match(r.stdout, /^cn: User 7$/m);
  } finally {
    await layered.stop();
  }
});

test('SASL bind with a wrong password gives the same invalidCredentials', async () => {
  const r = assertSame(
    await both(stack, 'ldapwhoami', ['-Y', 'SCRAM-SHA-256', '-U', 'user6', '-w', 'bad', '-N']),
  );
  assert.equal(r.code, 49);
});

test('SASL bind with an unknown mechanism gives the same error', async () => {
  const r = assertSame(
    await both(stack, 'ldapwhoami', ['-Y', 'NO-SUCH-MECH', '-U', 'user6', '-w', 'x', '-N']),
  );
  assert.notEqual(r.code, 0);
});

test('python-ldap SASL SCRAM bind through the proxy returns the backend identity', async () => {
  const src = `${COMMON}
import ldap.sasl
out = {}
for name, url in (('proxied', proxy_url), ('direct', direct_url)):
    c = conn(url)
    c.sasl_interactive_bind_s('', ldap.sasl.sasl({ldap.sasl.CB_AUTHNAME: 'user8', ldap.sasl.CB_PASS: 'pass8'}, 'SCRAM-SHA-256'))
    out[name] = c.whoami_s()
    c.unbind_s()
print(json.dumps(out))
`;
  const r = await runPython(src, pyArgs());
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json, {
    proxied: `dn:uid=user8,ou=people,${SUFFIX}`,
    direct: `dn:uid=user8,ou=people,${SUFFIX}`,
  });
});

const SYNCREPL = `${COMMON}
import ldap.syncrepl
class Consumer(ldap.syncrepl.SyncreplConsumer, SimpleLDAPObject):
    def __init__(self, url):
        SimpleLDAPObject.__init__(self, url)
        self.cookie = None; self.entries = []; self.refreshed = False
    def syncrepl_get_cookie(self): return self.cookie
    def syncrepl_set_cookie(self, c): self.cookie = c
    def syncrepl_entry(self, dn, attrs, uuid):
        self.entries.append((dn, [v.decode() for v in attrs.get('description', [])]))
    def syncrepl_delete(self, uuids): pass
    def syncrepl_present(self, uuids, refreshDeletes=False): pass
    def syncrepl_refreshdone(self): self.refreshed = True

c = Consumer(proxy_url)
c.protocol_version = 3
c.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
c.simple_bind_s(admin_dn, admin_pw)
msgid = c.syncrepl_search('ou=People,' + base, ldap.SCOPE_SUBTREE, mode='refreshAndPersist',
                          filterstr='(uid=user3*)', attrlist=['description'])
deadline = time.time() + 20
while not c.refreshed and time.time() < deadline:
    c.syncrepl_poll(msgid=msgid, timeout=1)
refresh_count = len(c.entries)
refreshed = c.refreshed  # refreshDone arrives as a syncInfo intermediate response
c.entries = []

# change slapd directly; the change must reach the consumer through the proxy
w = conn(direct_url); w.simple_bind_s(admin_dn, admin_pw)
w.modify_s('uid=user31,ou=People,' + base, [(ldap.MOD_REPLACE, 'description', [b'changed-directly'])])
deadline = time.time() + 20
while not any(d == ['changed-directly'] for _, d in c.entries) and time.time() < deadline:
    try:
        c.syncrepl_poll(msgid=msgid, timeout=1)
    except ldap.TIMEOUT:
        pass
persisted = [dn for dn, d in c.entries if d == ['changed-directly']]

# abandon the endless search; later changes must not arrive, and the connection stays usable
c.abandon(msgid)
time.sleep(0.3)
w.modify_s('uid=user32,ou=People,' + base, [(ldap.MOD_REPLACE, 'description', [b'after-abandon'])])
late = None
try:
    late = c.result4(msgid, all=0, timeout=2)
except ldap.TIMEOUT:
    late = None
after = c.search_s('ou=People,' + base, ldap.SCOPE_SUBTREE, '(uid=user32)', ['description'])
print(json.dumps({'refreshed': refreshed, 'refresh': refresh_count, 'persisted': persisted, 'late': late is not None,
                  'after': [v.decode() for v in after[0][1]['description']]}))
`;

test('syncrepl refreshAndPersist through the proxy receives a change made directly on slapd', async () => {
  const r = await runPython(SYNCREPL, pyArgs(), 50_000);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const j = r.json as {
    refreshed: boolean;
    refresh: number;
    persisted: string[];
    late: boolean;
    after: string[];
  };
  assert.equal(j.refreshed, true);
  // user3 and user30..user39
  assert.equal(j.refresh, 11);
  assert.deepEqual(j.persisted, [`uid=user31,${PEOPLE}`]);
  // abandon of the persistent search: nothing more for it, and the same connection still answers
  assert.equal(j.late, false);
  assert.deepEqual(j.after, ['after-abandon']);
});

test('abandon of a running subtree search leaves the connection usable', async () => {
  const src = `${COMMON}
c = conn(proxy_url)
c.simple_bind_s(admin_dn, admin_pw)
abandoned = 0
for i in range(20):
    m = c.search_ext(base, ldap.SCOPE_SUBTREE, '(objectClass=*)')
    c.abandon_ext(m)
    abandoned += 1
r = c.search_s('ou=People,' + base, ldap.SCOPE_ONELEVEL, '(uid=user9)', ['uid'])
print(json.dumps({'abandoned': abandoned, 'uid': r[0][1]['uid'][0].decode(), 'who': c.whoami_s()}))
`;
  const r = await runPython(src, pyArgs());
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json, { abandoned: 20, uid: 'user9', who: `dn:${ADMIN_DN}` });
});

test('an unknown extended operation with a binary value gets slapd own answer', async () => {
  const src = `${COMMON}
import ldap.extop
out = {}
for name, url in (('proxied', proxy_url), ('direct', direct_url)):
    c = conn(url)
    try:
        c.extop_s(ldap.extop.ExtendedRequest('1.3.6.1.4.1.99999.77', b'\\x00\\xff\\x30\\x84\\xff\\xff\\xff\\xffbin'))
        out[name] = 'success?'
    except ldap.LDAPError as e:
        d = e.args[0]
        out[name] = {'result': d.get('result'), 'desc': d.get('desc'), 'info': d.get('info')}
    # the connection is still good afterwards
    out[name + '_after'] = c.whoami_s()
print(json.dumps(out))
`;
  const r = await runPython(src, pyArgs());
  assert.equal(r.code, 0, r.stderr);
  const j = r.json as Record<string, unknown>;
  assert.deepEqual(j.proxied, j.direct);
  assert.equal((j.direct as { result: number }).result, 2);
  assert.equal(j.proxied_after, '');
});

test('WhoAmI and password modify extended operations give the same answers', async () => {
  const src = `${COMMON}
out = {}
for name, url in (('proxied', proxy_url), ('direct', direct_url)):
    c = conn(url)
    c.simple_bind_s('uid=user10,ou=People,' + base, 'pass10')
    out[name] = c.whoami_s()
    try:
        c.passwd_s('uid=user10,ou=People,' + base, 'wrong-old', 'x')
        out[name + '_pw'] = 'success?'
    except ldap.LDAPError as e:
        out[name + '_pw'] = e.args[0].get('result')
print(json.dumps(out))
`;
  const r = await runPython(src, pyArgs());
  assert.equal(r.code, 0, r.stderr);
  const j = r.json as Record<string, unknown>;
  assert.equal(j.proxied, `dn:uid=user10,${PEOPLE}`);
  assert.equal(j.proxied, j.direct);
  assert.equal(j.proxied_pw, j.direct_pw);
});

test('fifty operations in flight on one connection each get their own result', async () => {
  const src = `${COMMON}
c = conn(proxy_url)
c.simple_bind_s(admin_dn, admin_pw)
ids = {}
for i in range(40):
    ids[c.search_ext('ou=People,' + base, ldap.SCOPE_ONELEVEL, '(uid=user%d)' % i, ['uid'])] = 'user%d' % i
cmp = {}
for i in range(10):
    cmp[c.compare_ext('uid=user%d,ou=People,' % i + base, 'sn', ('Number%d' % (i % 2)).encode())] = (i % 2 == i)
ok = 0
for m in reversed(list(ids)):
    _, data = c.result(m)
    if data[0][1]['uid'][0].decode() == ids[m]:
        ok += 1
cmp_ok = 0
for m, expect in cmp.items():
    try:
        c.result(m)
    except ldap.COMPARE_TRUE:
        cmp_ok += expect
    except ldap.COMPARE_FALSE:
        cmp_ok += not expect
print(json.dumps({'searches': ok, 'compares': cmp_ok}))
`;
  const r = await runPython(src, pyArgs());
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json, { searches: 40, compares: 10 });
});

test('the proxy is still running after the python-ldap clients', () => {
  assert.ok(stack.proxy.alive, stack.proxy.stderr);
});
