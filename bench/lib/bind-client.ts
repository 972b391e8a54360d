// A lean load client for bind benchmarks: each connection sends one pre-encoded BindRequest at a time and
// reads the resultCode of the answer. No per-request encoding, promise chain or deadline bookkeeping, so the
// load generator takes as little of the shared cores as it can (what ldclt is for the search benchmark).
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { FrameReader } from '../../src/frame/index.js';
import { encodeMessage, readResultCode } from '../../src/ldap/index.js';
import { simpleBindOp } from '../../src/directory/raw-ldap.js';

/** A BindRequest with messageID 1 (reused: one request at a time per connection). */
export function bindFrame(dn: string, password: Buffer | string): Buffer {
  return encodeMessage(1, simpleBindOp(dn, password));
}

class Binder {
  private readonly reader = new FrameReader(1 << 20);
  private answer: ((code: number) => void) | null = null;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      while (this.reader.next()) this.answer?.(readResultCode(this.reader.frame));
    });
  }

  bind(frame: Buffer): Promise<number> {
    return new Promise((resolve) => {
      this.answer = resolve;
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function open(url: string): Promise<Binder> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    s.once('connect', () => resolve(new Binder(s)));
    s.once('error', reject);
  });
}

/** Successful binds per second from `connections` connections binding in a loop for `seconds`. */
export async function bindLoad(
  url: string,
  next: () => Buffer,
  connections: number,
  seconds: number,
): Promise<number> {
  const binders = await Promise.all(Array.from({ length: connections }, () => open(url)));
  let done = 0;
  let failed = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    binders.map(async (b) => {
      while (Date.now() < until) {
        if ((await b.bind(next())) === 0) done++;
        else failed++;
      }
    }),
  );
  binders.forEach((b) => b.close());
  if (failed > 0) throw new Error(`${failed} binds failed`);
  return done / seconds;
}
