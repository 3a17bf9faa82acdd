import { Option, type Command } from 'commander';
import { Broker } from '../broker/broker.js';
import { stderrLogger } from '../diagnostics.js';
import { DEFAULT_PUBLISH_ENDPOINT, DEFAULT_SUBSCRIBE_ENDPOINT } from '../defaults.js';
import { parseDurationMs } from './duration.js';
import { endpointError } from './endpoint-error.js';
import { onShutdown } from './signals.js';
import { ZibratoError } from '../errors.js';
import { isLocalOnlyEndpoint } from '../security/endpoints.js';
import { readAllowListFile, resolveServerKeys, type CurveServerKeys } from '../security/keys.js';

/** Environment variables naming the allow-list files, for deployments that pass nothing on the command line. */
export const ALLOW_ENV = { publishers: 'ZIBRATO_ALLOW_PUBLISHERS_FILE', subscribers: 'ZIBRATO_ALLOW_SUBSCRIBERS_FILE' } as const;

/**
 * Refuses to expose an unauthenticated broker: without keys, anyone who can
 * reach a port may read every measurement, switch levels on and inject
 * records (docs/security.md).
 */
export function checkBindSecurity(endpoints: readonly string[], curve: CurveServerKeys | undefined, insecure: boolean | undefined, hint: string): void {
  if (curve || insecure) return;
  const exposed = endpoints.filter((e) => !isLocalOnlyEndpoint(e));
  if (exposed.length > 0) {
    throw new ZibratoError('ZIB_ERR_INSECURE_BIND', `${exposed.join(', ')} can be reached from other machines, and the broker has no CURVE keys: ${hint} (docs/security.md)`);
  }
}

interface BrokerKeyOptions {
  curveKeyFile?: string;
  allowPublishersFile?: string;
  allowSubscribersFile?: string;
  insecure?: boolean;
}

function allowLists(opts: BrokerKeyOptions): { publishers: string[]; subscribers: string[] } | undefined {
  const pubFile = opts.allowPublishersFile ?? process.env[ALLOW_ENV.publishers];
  const subFile = opts.allowSubscribersFile ?? process.env[ALLOW_ENV.subscribers];
  if (!pubFile && !subFile) return undefined;
  if (!pubFile || !subFile) throw new ZibratoError('ZIB_ERR_INVALID_OPTION', 'give both --allow-publishers-file and --allow-subscribers-file (an empty file admits nobody on that side)');
  return { publishers: readAllowListFile(pubFile, '--allow-publishers-file'), subscribers: readAllowListFile(subFile, '--allow-subscribers-file') };
}

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
    .option('--curve-key-file <file>', "the broker's CURVE key pair file from zibrato keygen (env ZIBRATO_CURVE_KEY_FILE); requires both allow-lists")
    .option('--allow-publishers-file <file>', `public keys admitted as publishers, one per line (env ${ALLOW_ENV.publishers}); SIGHUP rereads it`)
    .option('--allow-subscribers-file <file>', `public keys admitted as subscribers, one per line (env ${ALLOW_ENV.subscribers}); SIGHUP rereads it`)
    .option('--insecure', 'allow binding an address other machines can reach without CURVE keys')
    .addHelpText(
      'after',
      `
High-water marks: 10,000 messages on each side (a message is a batch of up to
~6,500 records). The subscriber side does not drop at the mark: it waits, so a
slow backend pushes back to publishers, which buffer and count what they drop.

A non-loopback address needs CURVE keys and allow-lists (or --insecure);
keys come from files or the environment, never the command line. See
docs/security.md.

Examples:
  zibrato broker --publish tcp://127.0.0.1:5550 --subscribe ipc:///tmp/zibrato.sub
  zibrato broker --publish tcp://0.0.0.0:5550 --subscribe tcp://0.0.0.0:5551 \\
    --curve-key-file keys/broker.key \\
    --allow-publishers-file keys/publishers.allow --allow-subscribers-file keys/subscribers.allow`,
    )
    .action(async (opts: { publish?: string[]; subscribe?: string[]; statsInterval: number } & BrokerKeyOptions) => {
      const log = stderrLogger('broker');
      const curve = resolveServerKeys(opts.curveKeyFile);
      const allow = allowLists(opts);
      if (allow && !curve) throw new ZibratoError('ZIB_ERR_INVALID_OPTION', 'allow-lists need the broker\'s key pair: --curve-key-file or env ZIBRATO_CURVE_KEY_FILE');
      checkBindSecurity([...(opts.publish ?? [DEFAULT_PUBLISH_ENDPOINT]), ...(opts.subscribe ?? [DEFAULT_SUBSCRIBE_ENDPOINT])], curve, opts.insecure, 'give it --curve-key-file and allow-lists, bind 127.0.0.1, or pass --insecure');
      const broker = new Broker({
        curve,
        allowPublishers: allow?.publishers,
        allowSubscribers: allow?.subscribers,
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
      if (curve) {
        log(`CURVE on: ${allow!.publishers.length} publisher keys, ${allow!.subscribers.length} subscriber keys allowed`);
        // Key rotation without a restart: edit the lists, then kill -HUP (docs/security.md).
        process.on('SIGHUP', () => {
          try {
            const next = allowLists(opts)!;
            broker.setAllowLists(next);
            log(`allow-lists reread: ${next.publishers.length} publisher keys, ${next.subscribers.length} subscriber keys`);
          } catch (err) {
            log(`allow-lists not reread, the old ones stay: ${(err as Error).message}`);
          }
        });
      }
      onShutdown(() => broker.stop(), log);
    });
}
