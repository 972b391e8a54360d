// The files in schema/ are what `schema print` prints, and the classifier reads real definitions right.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  SCHEMA_FILES,
  SCHEMA_FLAVORS,
  SCHEMA_FORMATS,
  classify,
  parseAttributeType,
  schemaText,
} from '../../src/schema/index.js';
import { runCli } from './run-cli.js';
import { CONFLICTING_SHRTOK, DOGTAG_SHRTOK, TempDir } from './shared.js';
import { run } from '../helpers/run.js';

const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));
const CN = "( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )";
const NAME = "( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )";

describe('schema definitions', () => {
  for (const flavor of SCHEMA_FLAVORS) {
    for (const format of SCHEMA_FORMATS) {
      it(`schema/${SCHEMA_FILES[flavor][format]} equals schema print --flavor ${flavor} --format ${format}`, () => {
        const file = readFileSync(`${SCHEMA_DIR}${SCHEMA_FILES[flavor][format]}`, 'utf8');
        assert.equal(file, schemaText(flavor, format));
        assert.match(file, /2\.16\.840\.1\.117370\.3\.1\.123 NAME 'shrTok'/);
        assert.match(file, /SYNTAX 1\.3\.6\.1\.4\.1\.1466\.115\.121\.1\.40 SINGLE-VALUE/);
        assert.match(file, /DESC '[^']+'/);
      });
    }
  }

  it('the CLI prints the same text and refuses an unknown flavor with exit 2', async () => {
    const ok = await runCli(['schema', 'print', '--flavor', '389ds', '--format', 'file']);
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout, schemaText('389ds', 'file'));
    const bad = await runCli(['schema', 'print', '--flavor', 'ad']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--flavor: "ad" is not one of 389ds, openldap/);
  });

  it('slaptest accepts shrtok.schema in a slapd.conf', async () => {
    const tmp = new TempDir();
    try {
      const conf = tmp.file(
        'slapd.conf',
        `include /etc/ldap/schema/core.schema\ninclude ${SCHEMA_DIR}shrtok.schema\nmoduleload back_mdb\nmodulepath /usr/lib/ldap\n`,
      );
      const r = await run('/usr/sbin/slaptest', ['-u', '-f', conf]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr + r.stdout, /config file testing succeeded/);
    } finally {
      tmp.remove();
    }
  });

  it('parses names, syntax length bounds, SUP and extensions', () => {
    const cn = parseAttributeType(CN);
    assert.deepEqual(cn.names, ['cn', 'commonName']);
    assert.equal(cn.sup, 'name');
    assert.equal(parseAttributeType(NAME).syntax, '1.3.6.1.4.1.1466.115.121.1.15');
    const dogtag = parseAttributeType(DOGTAG_SHRTOK);
    assert.equal(dogtag.oid, 'shrTok-oid');
    assert.equal(dogtag.desc, 'Attribute type for SharedToken');
    assert.equal(dogtag.singleValue, true);
    const x = parseAttributeType("( 1.2.3 NAME 'a\\27b' X-ORIGIN ( 'one' 'two' ) SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )");
    assert.deepEqual(x.names, ["a'b"]);
    assert.equal(x.syntax, '1.3.6.1.4.1.1466.115.121.1.40');
    assert.throws(() => parseAttributeType('shrTok'), /not an attribute type description/);
  });

  it('classifies missing, ours, Dogtag, conflicting and a stolen OID', () => {
    const base = [parseAttributeType(CN), parseAttributeType(NAME)];
    assert.equal(classify(base).state, 'missing');
    const ours = classify([...base, parseAttributeType(schemaText('openldap', 'online').split('olcAttributeTypes: ')[1] ?? '')]);
    assert.equal(ours.state, 'installed');
    assert.deepEqual(ours.notes, []);
    const dogtag = classify([...base, parseAttributeType(DOGTAG_SHRTOK)]);
    assert.equal(dogtag.state, 'installed');
    assert.match(dogtag.notes[0] ?? '', /OID shrTok-oid/);
    const lower = classify([...base, parseAttributeType(DOGTAG_SHRTOK.replace("'shrTok'", "'SHRTOK'"))]);
    assert.equal(lower.state, 'installed', 'names compare case-insensitively');
    assert.equal(classify([...base, parseAttributeType(CONFLICTING_SHRTOK)]).state, 'conflicting');
    const stolen = classify([...base, parseAttributeType("( 2.16.840.1.117370.3.1.123 NAME 'other' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )")]);
    assert.equal(stolen.state, 'conflicting');
    assert.match(stolen.detail, /already used by attribute other/);
    const inherited = classify([...base, parseAttributeType("( 1.2.3.4 NAME 'shrTok' SUP name )")]);
    assert.equal(inherited.state, 'conflicting', 'syntax inherited through SUP is DirectoryString');
  });
});
