// Captures the PDUs real ldap-utils clients send: a tiny TCP recorder answers every request with success
// (a bind, a searchResDone, ...) so the tool runs to completion, and keeps each request as sent.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/run.js';
import { splitMessages } from './ldap-wire.js';

const RESPONSE: Record<number, number> = {
  0x60: 0x61,
  0x63: 0x65,
  0x66: 0x67,
  0x68: 0x69,
  0x4a: 0x6b,
  0x6c: 0x6d,
  0x6e: 0x6f,
  0x77: 0x78,
};

function successResponse(id: number, responseTag: number): Buffer {
  const idBytes = Buffer.alloc(4);
  idBytes.writeUInt32BE(id);
  const body = Buffer.from([0x0a, 0x01, responseTag === 0x6f ? 6 : 0, 0x04, 0x00, 0x04, 0x00]);
  const op = Buffer.concat([Buffer.from([responseTag, body.length]), body]);
  const inner = Buffer.concat([Buffer.from([0x02, 0x04]), idBytes, op]);
  return Buffer.concat([Buffer.from([0x30, inner.length]), inner]);
}

/** Runs each ldap-utils command line against the recorder and returns every request it sent. */
export async function captureLdapUtils(): Promise<Buffer[]> {
  const captured: Buffer[] = [];
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const { messages, rest } = splitMessages(buf);
      buf = Buffer.from(rest);
      for (const m of messages) {
        captured.push(Buffer.from(m.raw));
        const responseTag = RESPONSE[m.opTag];
        if (responseTag !== undefined) sock.write(successResponse(m.id, responseTag));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `ldap://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-capture-'));
  const ldif = join(dir, 'changes.ldif');
  writeFileSync(
    ldif,
    [
      'dn: cn=fuzz-add,ou=Fuzz,dc=example,dc=com',
      'changetype: add',
      'objectClass: organizationalRole',
      'cn: fuzz-add',
      'description:: AAECA/8=',
      '',
      'dn: cn=fuzz-add,ou=Fuzz,dc=example,dc=com',
      'changetype: modify',
      'replace: description',
      'description: new',
      '-',
      'add: seeAlso',
      'seeAlso: cn=x',
      '-',
      '',
      'dn: cn=fuzz-add,ou=Fuzz,dc=example,dc=com',
      'changetype: modrdn',
      'newrdn: cn=fuzz-moved',
      'deleteoldrdn: 1',
      '',
      'dn: cn=fuzz-moved,ou=Fuzz,dc=example,dc=com',
      'changetype: delete',
      '',
    ].join('\n'),
  );
  const bind = ['-x', '-D', 'cn=fuzz,dc=example,dc=com', '-w', 'not-a-real-password'];
  const commands: [string, string[]][] = [
    [
      'ldapsearch',
      [
        '-x',
        '-b',
        'ou=People,dc=example,dc=com',
        '(&(objectClass=person)(|(cn=User*)(mail=*@example.com)))',
        'cn',
        'mail',
      ],
    ],
    [
      'ldapsearch',
      ['-x', '-b', 'dc=example,dc=com', '-s', 'one', '-E', 'pr=5/noprompt', '-z', '10', '(!(uid=x))'],
    ],
    ['ldapsearch', ['-x', '-b', '', '-s', 'base', '(objectClass=*)', '+']],
    ['ldapsearch', [...bind, '-b', 'dc=example,dc=com', '-E', '!sss=cn/-sn', '(cn>=A)', '1.1']],
    ['ldapmodify', [...bind, '-f', ldif]],
    ['ldapcompare', [...bind, 'uid=user1,ou=People,dc=example,dc=com', 'cn:User 1']],
    ['ldapwhoami', bind],
    ['ldappasswd', [...bind, '-s', 'new-password', 'uid=user1,ou=People,dc=example,dc=com']],
    ['ldapexop', [...bind, '1.3.6.1.4.1.99999.7']],
  ];
  try {
    for (const [tool, args] of commands) await run(tool, ['-H', url, ...args], { timeoutMs: 15_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((r) => server.close(() => r()));
  }
  return captured;
}
