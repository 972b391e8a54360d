# python-ldap client for the verify extended operation: StartTLS, simple bind, one extop; prints JSON.
# usage: extop-client.py URL CAFILE BINDDN BINDPW HEXVALUE
import binascii
import json
import sys

import ldap
from ldap.extop import ExtendedRequest

OID = '2.25.151240746369731152492527378165000953831.1'
url, cafile, binddn, bindpw, hexvalue = sys.argv[1:6]
ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, cafile)
conn = ldap.initialize(url)
conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
conn.start_tls_s()
conn.simple_bind_s(binddn, bindpw)
try:
    name, value = conn.extop_s(ExtendedRequest(OID, binascii.unhexlify(hexvalue)))
    print(json.dumps({'code': 0, 'name': name, 'value': value.hex() if value else None}))
except ldap.LDAPError as e:
    d = e.args[0] if e.args and isinstance(e.args[0], dict) else {}
    print(json.dumps({'code': d.get('result'), 'info': d.get('info')}))
