// Byte-level mutations of real PDUs, driven by a tape of random numbers so fast-check (which shrinks the
// tape) and the seeded network run share one implementation. The mutations aim at what BER parsers get
// wrong: length octets, tags, truncation, splices and the boundary values of each.

/** Source of uint32s. */
export type Rand = () => number;

/** A deterministic PRNG (mulberry32) so a failing network case can be replayed from its seed. */
export function seededRand(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Replays a fixed tape of numbers, cyclically (for fast-check generated tapes). */
export function tapeRand(tape: readonly number[]): Rand {
  let i = 0;
  return () => (tape.length === 0 ? 0 : (tape[i++ % tape.length] as number) >>> 0);
}

const INTERESTING = [
  0x00, 0x01, 0x02, 0x04, 0x30, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0xa0, 0xff,
];

/** Offsets of length octets of every TLV found by a lenient walk (where mutations hurt most). */
export function lengthOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  const walk = (start: number, end: number, depth: number): void => {
    let p = start;
    while (p + 2 <= end && depth < 64) {
      const tag = buf[p] as number;
      out.push(p + 1);
      const first = buf[p + 1] as number;
      let len = first;
      let body = p + 2;
      if (first & 0x80) {
        const n = first & 0x7f;
        if (n === 0 || n > 4 || body + n > end) return;
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + (buf[body + i] as number);
        body += n;
      }
      if (body + len > end) return;
      if (tag & 0x20) walk(body, body + len, depth + 1);
      p = body + len;
    }
  };
  walk(0, buf.length, 0);
  return out;
}

/** Applies 1..4 mutations to a copy of `seed`; `pool` gives other PDUs to splice from. */
export function mutate(seed: Buffer, rand: Rand, pool: readonly Buffer[] = []): Buffer {
  let b: Buffer = Buffer.from(seed);
  const count = 1 + (rand() % 4);
  for (let k = 0; k < count; k++) b = mutateOnce(b, rand, pool);
  return b;
}

function mutateOnce(b: Buffer, rand: Rand, pool: readonly Buffer[]): Buffer {
  const pick = (n: number): number => (n <= 0 ? 0 : rand() % n);
  const at = pick(b.length);
  switch (rand() % 10) {
    case 0: {
      // flip one bit
      if (b.length > 0) b[at] = (b[at] as number) ^ (1 << pick(8));
      return b;
    }
    case 1: {
      if (b.length > 0) b[at] = INTERESTING[pick(INTERESTING.length)] as number;
      return b;
    }
    case 2: {
      // rewrite a length octet with a boundary value
      const offs = lengthOffsets(b);
      const off = offs[pick(offs.length)];
      if (off !== undefined) b[off] = INTERESTING[pick(INTERESTING.length)] as number;
      return b;
    }
    case 3: {
      // long-form length with random value bytes in place of a length octet
      const offs = lengthOffsets(b);
      const off = offs[pick(offs.length)];
      if (off === undefined) return b;
      const n = 1 + pick(5);
      const len = Buffer.alloc(n);
      len[0] = 0x80 | (n - 1 || 1);
      for (let i = 1; i < n; i++) len[i] = rand() & 0xff;
      return Buffer.concat([b.subarray(0, off), len, b.subarray(off + 1)]);
    }
    case 4:
      return b.subarray(0, pick(b.length + 1));
    case 5: {
      const ins = Buffer.alloc(1 + pick(8));
      for (let i = 0; i < ins.length; i++) ins[i] = rand() & 0xff;
      return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
    }
    case 6: {
      // delete a slice
      const len = 1 + pick(Math.min(16, b.length));
      return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
    }
    case 7: {
      // duplicate a slice (repeated elements, overlapping TLVs)
      const len = 1 + pick(Math.min(32, b.length - at));
      return Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
    }
    case 8: {
      const other = pool[pick(pool.length)];
      if (!other || other.length === 0) return b;
      const from = pick(other.length);
      return Buffer.concat([b.subarray(0, at), other.subarray(from, from + 1 + pick(64)), b.subarray(at)]);
    }
    default: {
      // a tag byte set to another class/constructed form
      if (b.length > 0) b[at] = ((b[at] as number) ^ [0x20, 0x40, 0x80, 0xc0][pick(4)]!) & 0xff;
      return b;
    }
  }
}
