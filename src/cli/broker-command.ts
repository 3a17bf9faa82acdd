import { Option, type Command } from 'commander';
import { Broker } from '../broker/broker.js';
import { stderrLogger } from '../diagnostics.js';
import { DEFAULT_PUBLISH_ENDPOINT, DEFAULT_SUBSCRIBE_ENDPOINT } from '../defaults.js';
import { parseDurationMs } from './duration.js';
import { endpointError } from './endpoint-error.js';
import { onShutdown } from './signals.js';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function registerBrokerCommand(program: Command): void {
  program
    .command('broker')
    .description('Run the XSUB/XPUB forwarder that joins every publisher to every backend.')
    .option('--publish <endpoint>', `endpoint publishers connect to (repeatable; tcp://, ipc://) (default: ${DEFAULT_PUBLISH_ENDPOINT})`, collect)
    .option('--subscribe <endpoint>', `endpoint backends and tail connect to (repeatable) (default: ${DEFAULT_SUBSCRIBE_ENDPOINT})`, collect)
    .addOption(
      new Option('--stats-interval <duration>', 'how often to log and publish zibrato.broker.* self-metrics (0 = never)')
        .argParser((v) => parseDurationMs(v, '--stats-interval'))
        .default(10_000, '10s'),
    )
    .addHelpText(
      'after',
      `
High-water marks: 10,000 messages on each side (a message is a batch of up to
~6,500 records). The subscriber side does not drop at the mark: it waits, so a
slow backend pushes back to publishers, which buffer and count what they drop.

Example:
  zibrato broker --publish tcp://0.0.0.0:5550 --subscribe ipc:///tmp/zibrato.sub`,
    )
    .action(async (opts: { publish?: string[]; subscribe?: string[]; statsInterval: number }) => {
      const log = stderrLogger('broker');
      const broker = new Broker({
        publishEndpoints: opts.publish,
        subscribeEndpoints: opts.subscribe,
        selfMetricsIntervalMs: opts.statsInterval,
        log,
      });
      try {
        await broker.start();
      } catch (err) {
        // zeromq.js names the address; say which option it came from.
        throw endpointError(err, 'bind', (a) => ((opts.publish ?? [DEFAULT_PUBLISH_ENDPOINT]).includes(a) ? '--publish' : '--subscribe'), '(unknown)');
      }
      onShutdown(() => broker.stop(), log);
    });
}
