#!/usr/bin/python3
"""Writes the benchmark DIT as LDIF on stdout and the bind list for ldclt.

  make-data.py SUFFIX NUSERS SVC_DN SVC_PW BINDFILE

Users uid=userN,ou=People,SUFFIX with password passN stored as {SSHA} (what a real directory holds,
so a bind costs the backend a hash). BINDFILE gets one "DN<TAB>password" line per user, the format
of ldclt's randombinddnfromfile.
"""
import base64
import hashlib
import os
import sys

suffix, nusers, svc_dn, svc_pw, bindfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
dc = suffix.split(",")[0].split("=")[1]


def ssha(pw: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(pw.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


out = sys.stdout
out.write(f"dn: {suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: {dc}\no: bench\n\n")
out.write(f"dn: ou=People,{suffix}\nobjectClass: organizationalUnit\nou: People\n\n")
svc_cn = svc_dn.split(",")[0].split("=")[1]
out.write(
    f"dn: {svc_dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
    f"cn: {svc_cn}\nuserPassword: {ssha(svc_pw)}\n\n"
)
with open(bindfile, "w") as bf:
    for i in range(nusers):
        dn = f"uid=user{i},ou=People,{suffix}"
        out.write(
            f"dn: {dn}\nobjectClass: inetOrgPerson\nuid: user{i}\ncn: Bench User {i}\nsn: User{i}\n"
            f"mail: user{i}@bench.example\nuserPassword: {ssha(f'pass{i}')}\n\n"
        )
        bf.write(f"{dn}\tpass{i}\n")
