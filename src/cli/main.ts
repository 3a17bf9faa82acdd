import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerBackendCommand } from './backend-command.js';
import { registerBrokerCommand } from './broker-command.js';
import { registerIngestCommand } from './ingest.js';
import { registerKeygenCommand } from './keygen-command.js';
import { registerQueryCommand } from './query-command.js';
import { registerSendCommand } from './send-command.js';
import { registerTailCommand } from './tail-command.js';
import { registerUpCommand } from './up-command.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Builds the `zibrato` command line. */
export function buildProgram(): Command {
  const program = new Command('zibrato')
    .version(pkg.version)
    .description('Cheap in-app metrics over ZeroMQ: a broker joins publishers to backends that aggregate and flush elsewhere.')
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Quick start:
  zibrato up                         broker + console, file and store backends (embedded defaults)
  zibrato tail --levels debug+       watch raw records
  zibrato send --name x --value 1    send one record
  zibrato query --name x --since 1h  query the store (web UI: http://127.0.0.1:5580/)

Exit codes (every subcommand): 0 done, 1 runtime failure, 2 usage or config
error, 3 endpoint or port unusable, 130 second signal. See docs/errors.md.

Docs: README.md, docs/wire-format.md, docs/file-format.md, docs/errors.md`,
    );
  registerUpCommand(program);
  registerBrokerCommand(program);
  registerBackendCommand(program);
  registerIngestCommand(program);
  registerTailCommand(program);
  registerSendCommand(program);
  registerQueryCommand(program);
  registerKeygenCommand(program);
  // Usage errors exit 2 like every other configuration error (commander's own
  // default is 1, which the exit-code table keeps for runtime failures);
  // bin/zibrato.js maps the thrown CommanderError. Sink subcommands are added
  // with addCommand, which does not inherit the setting, hence the walk.
  const walk = (c: Command): void => {
    c.exitOverride();
    for (const sub of c.commands) walk(sub);
  };
  walk(program);
  return program;
}

/** Runs the CLI. */
export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
