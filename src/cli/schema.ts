import type { Command } from './command.js';

// Placeholder until the issue that owns this command lands.
export const command: Command = {
  name: 'schema',
  summary: 'not yet available',
  usage: 'shrtok-proxy schema',
  run: () => {
    process.stderr.write('shrtok-proxy: "schema" is not yet available in this build\n');
    return Promise.resolve(1);
  },
};
