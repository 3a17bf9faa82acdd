/**
 * `zibrato ingest statsd`: a StatsD / DogStatsD gateway. Point an existing
 * StatsD client (hot-shots, node-statsd, datadog clients …) at its port and
 * its metrics flow onto the Zibrato broker. See docs/ingest.md.
 */
import { clientKeysOf, curveKeyFileOption, curveServerKeyFileOption } from './curve-options.js';
import { validateEndpoint } from '../config/config.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_PUBLISH_ENDPOINT, DEFAULT_STATSD_PORT } from '../defaults.js';
import { isLevel, LEVELS, type Level } from '../levels.js';
import { stderrLogger } from '../diagnostics.js';
import { startStatsdGateway } from '../ingest/statsd-gateway.js';
import { parseDurationMs } from './duration.js';
import { withEndpoint } from './endpoint-error.js';
import { onShutdown } from './signals.js';

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('expected a port number 0–65535');
  return n;
}

function parseLevel(v: string): Level {
  const l = v.toLowerCase();
  if (!isLevel(l)) throw new InvalidArgumentError(`expected one of ${LEVELS.join(', ')}`);
  return l;
}

/** `500ms`, `10s`, `1m`, or plain milliseconds; `0` turns the stats line off. */
/** Commander wants InvalidArgumentError; the shared parser throws a coded error. */
function parseInterval(v: string): number {
  try {
    return parseDurationMs(v, '--stats-interval');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

interface StatsdCommandOptions {
  curveKeyFile?: string;
  curveServerKeyFile?: string;
  port: number;
  host: string;
  broker: string;
  defaultLevel: Level;
  source?: string;
  levelTag: string;
  sourceTag: string;
  udp: boolean;
  tcp: boolean;
  statsInterval: number;
}

/** Adds `zibrato ingest statsd` to the program. */
export function registerIngestCommand(program: Command): void {
  const ingest = program
    .command('ingest')
    .description('Run a protocol gateway that publishes other clients\' metrics onto the broker.')
    .addHelpText('after', '\nGateways:\n  statsd   StatsD / DogStatsD over UDP and TCP (zibrato ingest statsd --help)\n');

  ingest
    .command('statsd')
    .description('Accept StatsD / DogStatsD lines on UDP and TCP and publish them to the broker.')
    .option('-p, --port <port>', 'UDP and TCP port to listen on (0 = any free port)', parsePort, DEFAULT_STATSD_PORT)
    .option('--host <address>', 'address to listen on (0.0.0.0 or :: for every interface)', '127.0.0.1')
    .option('-b, --broker <endpoint>', 'the broker\'s publisher endpoint', DEFAULT_PUBLISH_ENDPOINT)
    .addOption(curveKeyFileOption())
    .addOption(curveServerKeyFileOption())
    .option('--default-level <level>', `level of lines without a level tag (${LEVELS.join(', ')})`, parseLevel, 'info' as Level)
    .option('--source <name>', 'source of lines without a source tag (default: none)')
    .option('--level-tag <key>', 'tag key that sets the level; removed from the tags', 'level')
    .option('--source-tag <key>', 'tag key that sets the source; removed from the tags ("" keeps it as a tag)', 'source')
    .option('--no-udp', 'do not listen on UDP')
    .option('--no-tcp', 'do not listen on TCP')
    .addOption(new Option('--stats-interval <duration>', 'how often to log received/malformed/published counts (0 = never)').argParser(parseInterval).default(60_000, '60s'))
    .addHelpText(
      'after',
      `
Accepted lines (several per datagram, newline separated; on TCP one per line):
  name:value|c[|@rate]         counter; a sampled counter counts value/rate
  name:value|g                 gauge;   name:+N|g or name:-N|g changes it
  name:value|ms, |h or |d      timer (milliseconds); a sampled timer weighs 1/rate
  name:member|s                set: counts distinct members
  name:1:2:3|ms                several values of one metric (DogStatsD)
  …|#k:v,flag                  DogStatsD tags; a tag without a value has value ""
  …|#level:warn                the level (else --default-level); removed from tags
  …|#source:web-1              the source (else --source); removed from tags
  …|T1700000000                accepted; Zibrato aggregates by arrival time
A malformed line is counted and logged (at most once per 10 s) with the
reason; the other lines of its datagram are still used.

Examples:
  zibrato ingest statsd
  zibrato ingest statsd --port 8125 --host 0.0.0.0 --broker tcp://broker:5550
  echo -n "deploys:1|c|#level:warn,env:prod" > /dev/udp/127.0.0.1/8125

SIGINT/SIGTERM stop listening, send what the client still buffers, and exit.
See docs/ingest.md.`,
    )
    .action(async (opts: StatsdCommandOptions) => {
      const log = stderrLogger('ingest statsd');
      validateEndpoint(opts.broker, '--broker');
      const gateway = await withEndpoint('bind', '--host/--port', `${opts.host}:${opts.port}`, () => startStatsdGateway({
        port: opts.port,
        host: opts.host,
        broker: opts.broker,
        curve: clientKeysOf(opts),
        defaultLevel: opts.defaultLevel,
        levelTag: opts.levelTag,
        sourceTag: opts.sourceTag,
        udp: opts.udp,
        tcp: opts.tcp,
        statsIntervalMs: opts.statsInterval,
        log,
        ...(opts.source !== undefined ? { source: opts.source } : {}),
      }));
      // Stop listening first, then close the client so what it buffers reaches the broker.
      onShutdown(() => gateway.stop(), log);
    });
}
