// Small pieces of provisioning: CSV, generated passphrases and their files, the progress bar, serials.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { csvLine, parseCsv } from '../../src/provision/csv.js';
import { certRecordDn, parseSerial } from '../../src/provision/entries.js';
import { generatePassphrase, writeSecretFile } from '../../src/provision/passphrase.js';
import { Progress, runPool } from '../../src/provision/progress.js';
import { TempDir } from '../schema/shared.js';

describe('provisioning units', () => {
  it('parses CSV with quotes, doubled quotes, CRLF, empty fields and blank lines', () => {
    const rows = parseCsv('uid,passphrase_file\r\nalice,"/p/a b,c"\r\n\r\n"bo""b",\nlast,x');
    assert.deepEqual(
      rows.map((r) => [r.line, r.fields]),
      [
        [1, ['uid', 'passphrase_file']],
        [2, ['alice', '/p/a b,c']],
        [4, ['bo"b', '']],
        [5, ['last', 'x']],
      ],
    );
    assert.throws(() => parseCsv('a,"b\n'), /unterminated/);
    assert.equal(csvLine(['1', 'a,b', 'say "x"']), '1,"a,b","say ""x"""\n');
    assert.deepEqual(parseCsv(csvLine(['x\ny', 'z']))[0]?.fields, ['x\ny', 'z']);
  });

  it('generates letters-and-digits passphrases of the asked length, all different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassphrase(24).toString();
      assert.match(p, /^[A-Za-z0-9]{24}$/);
      seen.add(p);
    }
    assert.equal(seen.size, 200);
    // Every character of the alphabet shows up over enough draws (no dead symbols from the sampling).
    const chars = new Set(
      generatePassphrase(256).toString() +
        generatePassphrase(256).toString() +
        generatePassphrase(256).toString(),
    );
    assert.ok(chars.size >= 55, `only ${chars.size} distinct characters`);
    assert.throws(() => generatePassphrase(8), RangeError);
  });

  it('writes secret files 0600 whatever the umask, and never over an existing file', () => {
    const tmp = new TempDir();
    const old = process.umask(0o022);
    try {
      const p = `${tmp.path}/secret`;
      writeSecretFile(p, Buffer.from('s3cret\n'));
      assert.equal(statSync(p).mode & 0o777, 0o600);
      assert.throws(() => writeSecretFile(p, Buffer.from('other')), /EEXIST/);
      assert.equal(readFileSync(p, 'utf8'), 's3cret\n');
    } finally {
      process.umask(old);
      tmp.remove();
    }
  });

  it('draws a progress bar only on a terminal', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const bar = new Progress(4, 'token set', tty);
    for (const ok of [true, false, true, true]) bar.tick(ok);
    bar.finish();
    assert.match(written.join(''), /token set \[#{30}\] 4\/4 100% failed 1/);
    const pipe: string[] = [];
    const quiet = new Progress(4, 'x', {
      isTTY: false,
      write: (s: string) => pipe.push(s),
    } as unknown as NodeJS.WriteStream);
    quiet.tick(true);
    quiet.finish();
    assert.deepEqual(pipe, []);
  });

  it('runPool keeps at most N in flight and visits every item once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await runPool([...Array(50).keys()], 4, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      seen.push(i);
      inFlight--;
    });
    assert.equal(peak, 4);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [...Array(50).keys()],
    );
  });

  it('runPool stops starting items after a thrown error, lets in-flight ones finish, and rethrows it', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    await assert.rejects(
      runPool([...Array(100).keys()], 3, async (i) => {
        started.push(i);
        await new Promise((r) => setImmediate(r));
        if (i === 10) throw new Error('key gone');
        finished.push(i);
      }),
      /key gone/,
    );
    assert.ok(started.length <= 13, `started ${started.length}`);
    assert.deepEqual(
      finished,
      started.filter((i) => i !== 10),
    );
  });

  it('serials: decimal or 0x-hex in, decimal DN out, junk refused', () => {
    assert.equal(parseSerial('0x1234'), 4660n);
    assert.equal(
      parseSerial('340282366920938463463374607431768211457'),
      340282366920938463463374607431768211457n,
    );
    assert.equal(
      certRecordDn(4660n, 'ou=certificateRepository,ou=ca,o=pki-tomcat-CA'),
      'cn=4660,ou=certificateRepository,ou=ca,o=pki-tomcat-CA',
    );
    for (const bad of ['', '-1', '0', '12a', '0x', '1e5', '1 2'])
      assert.throws(() => parseSerial(bad), /serial/);
  });
});
