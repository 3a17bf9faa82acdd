import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { Broker } from '../broker/broker.js';
import { stderrLogger } from '../diagnostics.js';
import { DEFAULT_PUBLISH_ENDPOINT, DEFAULT_SUBSCRIBE_ENDPOINT } from '../defaults.js';
import { parseCount, parseDurationMs } from './duration.js';
import { endpointError } from './endpoint-error.js';
import { onShutdown } from './signals.js';
import { ZibratoError } from '../errors.js';
import { validateEndpointList } from '../config/config.js';
import { isLocalOnlyEndpoint } from '../security/endpoints.js';
import { readAllowListFile, readPublicKeyFile, readKeyPairFile, resolveServerKeys, type CurveClientKeys, type CurveServerKeys } from '../security/keys.js';
import { DEFAULT_UPSTREAM_BUFFER_RECORDS } from '../broker/upstream.js';

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

/** Environment variables of a host broker's link to its central broker (`--upstream`). */
export const UPSTREAM_ENV = {
  endpoint: 'ZIBRATO_BROKER_UPSTREAM',
  serverKeyFile: 'ZIBRATO_UPSTREAM_SERVER_KEY_FILE',
  keyFile: 'ZIBRATO_UPSTREAM_KEY_FILE',
} as const;

interface UpstreamKeyOptions {
  upstreamServerKeyFile?: string;
  upstreamKeyFile?: string;
}

/**
 * CURVE keys for the connection to the central broker: its public key, and the
 * key pair this broker presents (its own `--curve-key-file` unless
 * `--upstream-key-file` names another), which must be on the central broker's
 * publisher allow-list. None: plain ZeroMQ.
 */
function upstreamKeys(opts: UpstreamKeyOptions & BrokerKeyOptions, own: CurveServerKeys | undefined): CurveClientKeys | undefined {
  const serverFile = opts.upstreamServerKeyFile ?? process.env[UPSTREAM_ENV.serverKeyFile];
  const pairFile = opts.upstreamKeyFile ?? process.env[UPSTREAM_ENV.keyFile];
  if (!serverFile) {
    if (pairFile) throw new ZibratoError('ZIB_ERR_INVALID_OPTION', `--upstream-key-file needs the central broker's public key: --upstream-server-key-file or env ${UPSTREAM_ENV.serverKeyFile}`);
    return undefined;
  }
  const pair = pairFile ? readKeyPairFile(pairFile, '--upstream-key-file') : own;
  if (!pair) throw new ZibratoError('ZIB_ERR_INVALID_OPTION', `--upstream-server-key-file needs a key pair to present to the central broker: --upstream-key-file (env ${UPSTREAM_ENV.keyFile}) or this broker's --curve-key-file`);
  return { serverKey: readPublicKeyFile(serverFile, '--upstream-server-key-file'), publicKey: pair.publicKey, secretKey: pair.secretKey };
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function registerBrokerCommand(program: Command): void {
  program
    .command('broker')
    .description('Run the XSUB/XPUB forwarder that joins every publisher to every backend.')
    .option('--publish <endpoint>', `endpoint publishers connect to (repeatable; tcp://, ipc://) (default: ${DEFAULT_PUBLISH_ENDPOINT})`, collect)
    .option('--subscribe <endpoint>', `endpoint backends and tail connect to (repeatable) (default: ${DEFAULT_SUBSCRIBE_ENDPOINT})`, collect)
    .addOption(
      new Option('--stats-interval <duration>', 'how often to publish zibrato.broker.* self-metrics and log a status line when records moved (0 = never)')
        .argParser((v) => parseDurationMs(v, '--stats-interval'))
        .default(10_000, '10s'),
    )
    .option('--curve-key-file <file>', "the broker's CURVE key pair file from zibrato keygen (env ZIBRATO_CURVE_KEY_FILE); requires both allow-lists")
    .option('--allow-publishers-file <file>', `public keys admitted as publishers, one per line (env ${ALLOW_ENV.publishers}); SIGHUP rereads it`)
    .option('--allow-subscribers-file <file>', `public keys admitted as subscribers, one per line (env ${ALLOW_ENV.subscribers}); SIGHUP rereads it`)
    .option('--insecure', 'allow binding an address other machines can reach without CURVE keys')
    .option('--upstream <endpoint>', `a central broker's publish endpoint: forward everything to it and pass its subscriptions to this broker's publishers (env ${UPSTREAM_ENV.endpoint})`)
    .addOption(
      new Option('--upstream-buffer <records>', 'records held for the central broker while it is away or slow; past it new batches are dropped and counted')
        .argParser((v) => parseCount(v, '--upstream-buffer', { min: 1 }))
        .default(DEFAULT_UPSTREAM_BUFFER_RECORDS, DEFAULT_UPSTREAM_BUFFER_RECORDS.toLocaleString('en-US')),
    )
    .option('--upstream-server-key-file <file>', `the central broker's public key (.pub or key pair file): CURVE on the upstream connection (env ${UPSTREAM_ENV.serverKeyFile})`)
    .option('--source <name>', "source of this broker's zibrato.broker.* self-metrics (default: the host name with --upstream, none otherwise)")
    .option('--upstream-key-file <file>', `the key pair shown to the central broker (default: --curve-key-file) (env ${UPSTREAM_ENV.keyFile})`)
    .addHelpText(
      'after',
      `
High-water marks: 10,000 messages on each side (a message is a batch of up to
~6,500 records). The subscriber side does not drop at the mark: it waits, so a
slow backend pushes back to publishers, which buffer and count what they drop.

A host broker (--upstream) forwards everything its publishers send to the
central broker as well as to its own subscribers; the central broker's
subscriptions flow down to the apps, which learn levels as usual. While the
central broker is away, up to --upstream-buffer records are held and sent when
it returns; what does not fit is dropped, counted (zibrato.broker.upstream.dropped)
and logged. See docs/delivery.md.

A non-loopback address needs CURVE keys and allow-lists (or --insecure);
keys come from files or the environment, never the command line. See
docs/security.md.

Examples:
  zibrato broker --publish tcp://127.0.0.1:5550 --subscribe ipc:///tmp/zibrato.sub
  zibrato broker --publish tcp://0.0.0.0:5550 --subscribe tcp://0.0.0.0:5551 \\
    --curve-key-file keys/broker.key \\
    --allow-publishers-file keys/publishers.allow --allow-subscribers-file keys/subscribers.allow
  zibrato broker --publish tcp://127.0.0.1:5550 --subscribe tcp://127.0.0.1:5551 \\
    --upstream tcp://central.example:5550 --upstream-server-key-file keys/central.pub \\
    --upstream-key-file keys/host.key`,
    )
    .action(async (opts: { publish?: string[]; subscribe?: string[]; statsInterval: number; upstream?: string; upstreamBuffer: number; source?: string } & BrokerKeyOptions & UpstreamKeyOptions) => {
      const log = stderrLogger('broker');
      const curve = resolveServerKeys(opts.curveKeyFile);
      const allow = allowLists(opts);
      if (allow && !curve) throw new ZibratoError('ZIB_ERR_INVALID_OPTION', 'allow-lists need the broker\'s key pair: --curve-key-file or env ZIBRATO_CURVE_KEY_FILE');
      // The grammar first: "localhost:5550" is a typo to name, not an address other machines can reach.
      if (opts.publish) validateEndpointList(opts.publish, '--publish');
      if (opts.subscribe) validateEndpointList(opts.subscribe, '--subscribe');
      checkBindSecurity([...(opts.publish ?? [DEFAULT_PUBLISH_ENDPOINT]), ...(opts.subscribe ?? [DEFAULT_SUBSCRIBE_ENDPOINT])], curve, opts.insecure, 'give it --curve-key-file and allow-lists, bind 127.0.0.1, or pass --insecure');
      const upstream = opts.upstream ?? (process.env[UPSTREAM_ENV.endpoint] || undefined);
      if (upstream !== undefined) validateEndpointList([upstream], '--upstream');
      const broker = new Broker({
        upstream,
        upstreamCurve: upstream === undefined ? undefined : upstreamKeys(opts, curve),
        upstreamBufferRecords: opts.upstreamBuffer,
        selfMetricsSource: opts.source ?? (upstream === undefined ? undefined : hostname()),
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
