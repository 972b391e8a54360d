import { timingSafeEqual } from 'node:crypto';

/** Constant-time equality of two secrets; a length difference is revealed, the content never is. */
export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // same work either way
    return false;
  }
  return timingSafeEqual(a, b);
}
