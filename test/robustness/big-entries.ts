// A subtree of large entries, so that one search returns many megabytes (non-reading client attacks).
export const BIG = 'ou=Big,dc=example,dc=com';
export const BIG_ENTRIES = 200;
export const BIG_VALUE = 100 * 1024;

/** LDIF for BIG and BIG_ENTRIES entries under it, each with a BIG_VALUE-byte description. */
export function bigLdif(): string {
  const value = 'x'.repeat(BIG_VALUE);
  const lines = [`dn: ${BIG}`, 'objectClass: organizationalUnit', 'ou: Big', ''];
  for (let i = 0; i < BIG_ENTRIES; i++)
    lines.push(
      `dn: cn=big${i},${BIG}`,
      'objectClass: organizationalRole',
      `cn: big${i}`,
      `description: ${value}`,
      '',
    );
  return lines.join('\n');
}
