// A secret value that cannot be printed by accident: string conversion, JSON, util.inspect and
// console.log all show a placeholder. Only reveal() hands out the value, at the point of use.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

export const REDACTED = '[REDACTED]';

export class Secret<T extends string | Buffer = string | Buffer> {
  // A private field, so Object.keys, spreading and structured logging never see the value.
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The value itself. Call it where the secret is used, never to log or format it. */
  reveal(): T {
    return this.#value;
  }

  /** Overwrites a Buffer value with zeros (strings cannot be wiped in JavaScript). */
  wipe(): void {
    if (Buffer.isBuffer(this.#value)) this.#value.fill(0);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Reads a secret from a file (the only way secrets enter the proxy), dropping one trailing newline.
 *  Errors name the file, never its content. */
export function readSecretFile(path: string): Secret<string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`cannot read secret file ${path}: ${code}`, { cause: e });
  }
  return new Secret(text.replace(/\r?\n$/, ''));
}
