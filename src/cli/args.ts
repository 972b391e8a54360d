// Declarative flag parsing shared by every command: one spec table drives parsing, validation and --help.

export type FlagType = 'string' | 'boolean' | 'int' | 'list';

export interface FlagSpec {
  /** Long name without dashes, e.g. `pkcs11-module`. */
  name: string;
  /** Optional one-letter short form, e.g. `s`. */
  short?: string;
  type: FlagType;
  help: string;
  /** Placeholder shown in --help, e.g. `FILE`. */
  valueName?: string;
  /** Allowed values for string flags. */
  choices?: readonly string[];
  min?: number;
  max?: number;
}

export type FlagValue = string | boolean | number | string[];
export type FlagValues = Record<string, FlagValue | undefined>;

/** A command-line mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedArgs {
  flags: FlagValues;
  positionals: string[];
  help: boolean;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.flatMap((s) => (s.short ? [[s.short, s] as const] : [])));
  const flags: FlagValues = {};
  const positionals: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      shown = `--${name}`;
      spec = byLong.get(name);
      if (!spec && name.startsWith('no-')) {
        const negated = byLong.get(name.slice(3));
        if (negated?.type === 'boolean' && inline === undefined) {
          flags[negated.name] = false;
          continue;
        }
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      shown = arg.slice(0, 2);
      spec = byShort.get(arg.slice(1, 2));
      if (arg.length > 2) inline = arg.slice(2);
    } else {
      positionals.push(arg);
      continue;
    }
    if (!spec) throw new UsageError(`unknown flag ${shown}`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`flag --${spec.name} takes no value`);
      flags[spec.name] = true;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${spec.name} needs a value`);
      raw = argv[++i] ?? '';
    }
    flags[spec.name] = convert(spec, raw, flags[spec.name]);
  }
  return { flags, positionals, help };
}

function convert(spec: FlagSpec, raw: string, previous: FlagValue | undefined): FlagValue {
  switch (spec.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`flag --${spec.name}: "${raw}" is not a whole number`);
      const n = Number(raw);
      if (spec.min !== undefined && n < spec.min)
        throw new UsageError(`flag --${spec.name}: ${n} is below the minimum ${spec.min}`);
      if (spec.max !== undefined && n > spec.max)
        throw new UsageError(`flag --${spec.name}: ${n} is above the maximum ${spec.max}`);
      return n;
    }
    case 'list':
      return [...((previous as string[] | undefined) ?? []), raw];
    default:
      if (spec.choices && !spec.choices.includes(raw))
        throw new UsageError(`flag --${spec.name}: "${raw}" is not one of ${spec.choices.join(', ')}`);
      return raw;
  }
}

export function formatHelp(usage: string, description: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const value = s.type === 'boolean' ? '' : ` ${s.valueName ?? (s.type === 'int' ? 'N' : 'VALUE')}`;
    const names = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${value}`;
    const extra = s.choices ? ` (${s.choices.join('|')})` : s.type === 'list' ? ' (repeatable)' : '';
    return [names, s.help + extra] as const;
  });
  const width = Math.min(40, Math.max(0, ...rows.map(([n]) => n.length)) + 2);
  const lines = rows.map(([n, h]) => `  ${n.padEnd(width)}${h}`);
  return `Usage: ${usage}\n\n${description}\n${lines.length ? `\nOptions:\n${lines.join('\n')}\n` : ''}  -h, --help${' '.repeat(Math.max(2, width - 8))}show this help\n`;
}

/** Typed accessors that also enforce presence, so commands read flags in one line each. */
export function str(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}
export function requireStr(flags: FlagValues, name: string): string {
  const v = str(flags, name);
  if (v === undefined) throw new UsageError(`flag --${name} is required`);
  return v;
}
export function bool(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}
export function int(flags: FlagValues, name: string): number | undefined {
  const v = flags[name];
  return typeof v === 'number' ? v : undefined;
}
export function list(flags: FlagValues, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : [];
}
