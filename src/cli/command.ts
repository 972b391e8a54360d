import { formatHelp, parseArgs, UsageError } from './args.js';
import type { FlagSpec, ParsedArgs } from './args.js';

/** A command or subcommand: its flag table, its help text and what it does. Returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  description?: string;
  flags?: readonly FlagSpec[];
  run?: (args: ParsedArgs) => Promise<number>;
  subcommands?: readonly Command[];
}

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: CommandIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Runs a command tree; usage errors print one line naming the problem and give exit code 2. */
export async function runCommand(
  cmd: Command,
  argv: readonly string[],
  io: CommandIo = stdio,
): Promise<number> {
  try {
    if (cmd.subcommands) {
      const [first, ...rest] = argv;
      if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
        io.out(subcommandHelp(cmd));
        return first === undefined ? 2 : 0;
      }
      const sub = cmd.subcommands.find((s) => s.name === first);
      if (!sub) throw new UsageError(`unknown ${cmd.name} subcommand "${first}" (try --help)`);
      return await runCommand({ ...sub, usage: sub.usage }, rest, io);
    }
    const specs = cmd.flags ?? [];
    const args = parseArgs(argv, specs);
    if (args.help) {
      io.out(formatHelp(cmd.usage, cmd.description ?? cmd.summary, specs));
      return 0;
    }
    if (!cmd.run) throw new UsageError(`${cmd.name} has nothing to run`);
    return await cmd.run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`shrtok-proxy: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export function subcommandHelp(cmd: Command): string {
  const width = Math.max(...(cmd.subcommands ?? []).map((s) => s.name.length)) + 2;
  const rows = (cmd.subcommands ?? []).map((s) => `  ${s.name.padEnd(width)}${s.summary}`);
  return `Usage: ${cmd.usage}\n\n${cmd.description ?? cmd.summary}\n\nCommands:\n${rows.join('\n')}\n\nRun with a command and --help for its options.\n`;
}
