// BER identifier octets used by LDAP (X.690 §8.1.2). Class bits: 0x40 application, 0x80 context, 0x20 constructed.

export const BerTag = {
  boolean: 0x01,
  integer: 0x02,
  octetString: 0x04,
  null: 0x05,
  enumerated: 0x0a,
  sequence: 0x30,
  set: 0x31,
} as const;
export type BerTagValue = (typeof BerTag)[keyof typeof BerTag];

export const BerClass = {
  universal: 0x00,
  application: 0x40,
  context: 0x80,
  private: 0xc0,
} as const;

export const CONSTRUCTED = 0x20;

/** Longest definite length form we accept: 0x84 + four bytes (X.690 allows more; LDAP never needs it). */
export const MAX_LENGTH_OCTETS = 4;
