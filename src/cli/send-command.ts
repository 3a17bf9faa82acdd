import { clientKeysOf, curveKeyFileOption, curveServerKeyFileOption, type ClientKeyOptions } from './curve-options.js';
import { validateEndpoint } from '../config/config.js';
import { Option, type Command } from 'commander';
import { Zibrato, type EmitKind } from '../client/zibrato.js';
import { stderrLogger } from '../diagnostics.js';
import { BROKER_ENV, DEFAULT_PUBLISH_ENDPOINT } from '../defaults.js';
import { parseDurationMs } from './duration.js';
import { withEndpoint } from './endpoint-error.js';
import { EXIT } from './exit-codes.js';
import { InvalidOptionError } from '../errors.js';
import { isLevel } from '../levels.js';

const TYPES: Record<string, EmitKind> = { counter: 'counter', c: 'counter', gauge: 'gauge', g: 'gauge', timer: 'timer', ms: 'timer' };

export function registerSendCommand(program: Command): void {
  program
    .command('send')
    .description('Send one record (for shell scripts and cron jobs). Exits 1 if nobody subscribes to the level.')
    .requiredOption('--name <name>', 'metric name')
    .option('--type <type>', 'counter, gauge or timer (timer values are ms)', 'counter')
    .option('--value <number>', 'the value', '1')
    .option('--level <level>', 'debug, info, warn, error or crit', 'info')
    .option('--source <source>', 'source of the record')
    .option('--tag <k=v>', 'a tag (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--broker <endpoint>', `the broker's publisher endpoint (env ${BROKER_ENV})`, process.env[BROKER_ENV] ?? DEFAULT_PUBLISH_ENDPOINT)
    .addOption(
      new Option('--timeout <duration>', 'how long to wait for the broker and a subscriber (500ms, 3s)')
        .argParser((v) => parseDurationMs(v, '--timeout'))
        .default(3000, '3s'),
    )
    .addHelpText('after', `\nExample:\n  zibrato send --level info --type counter --name backups.done --value 1 --source cron`)
    .addOption(curveKeyFileOption())
    .addOption(curveServerKeyFileOption())
    .action(async (opts: { name: string; type: string; value: string; level: string; source?: string; tag?: string[]; broker: string; timeout: number } & ClientKeyOptions) => {
      const log = stderrLogger('send');
      const kind = TYPES[opts.type.toLowerCase()];
      if (!kind) throw new InvalidOptionError(`--type: "${opts.type}" is not counter, gauge or timer`);
      if (!isLevel(opts.level)) throw new InvalidOptionError(`--level: "${opts.level}" is not one of debug, info, warn, error, crit`, 'ZIB_ERR_INVALID_LEVEL');
      const value = Number(opts.value);
      if (!Number.isFinite(value)) throw new InvalidOptionError(`--value: "${opts.value}" is not a finite number`, 'ZIB_ERR_INVALID_VALUE');
      const tags: Record<string, string> = {};
      for (const t of opts.tag ?? []) {
        const eq = t.indexOf('=');
        if (eq <= 0) throw new InvalidOptionError(`--tag: "${t}" is not key=value`);
        tags[t.slice(0, eq)] = t.slice(eq + 1);
      }
      validateEndpoint(opts.broker, '--broker');
      const curve = clientKeysOf(opts);
      const z = await withEndpoint('connect', '--broker', opts.broker, () => new Zibrato({ broker: opts.broker, log, curve }));
      const ok = await z.ready({ levels: [opts.level], timeoutMs: opts.timeout });
      if (!ok) {
        // Which half failed tells the user what to start: ready() with no levels is true once the broker has answered.
        const brokerAnswered = await z.ready({ timeoutMs: 0 });
        await z.close({ timeoutMs: 0 });
        log(
          brokerAnswered
            ? `no subscriber for level ${opts.level} at ${opts.broker} within ${opts.timeout} ms (no backend or tail listens to ${opts.level}); record not sent`
            : `no broker answered at ${opts.broker} within ${opts.timeout} ms (is \`zibrato up\` or \`zibrato broker\` running? --broker or ${BROKER_ENV} sets where${curve ? '; with CURVE, is this key on the broker\'s publisher allow-list and --curve-server-key-file its public key?' : ''}); record not sent`,
        );
        process.exit(EXIT.failed);
      }
      z.emit(opts.level, kind, opts.name, value, { source: opts.source, tags });
      await z.close();
      const s = z.stats();
      if (s.sent !== 1) {
        log(`record not delivered (sent=${s.sent} dropped=${s.dropped} invalid=${s.invalid})`);
        process.exit(EXIT.failed);
      }
    });
}
