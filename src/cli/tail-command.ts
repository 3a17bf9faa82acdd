import { UNSUBSCRIBE_DELAY_MS } from '../wire/subscriptions.js';
import { validateEndpoint } from '../config/config.js';
import { clientKeysOf, curveKeyFileOption, curveServerKeyFileOption, type ClientKeyOptions } from './curve-options.js';
import { clientSocketOptions } from '../security/keys.js';
import type { Command } from 'commander';
import * as zmq from 'zeromq';
import { RateLimitedLog, stderrLogger } from '../diagnostics.js';
import { DEFAULT_SUBSCRIBE_ENDPOINT } from '../defaults.js';
import { announceBrokerAnswer } from '../wire/broker-answer.js';
import { LEVELS, parseLevels } from '../levels.js';
import { decodeBatch, recordSeries, recordValue } from '../wire/batch-decoder.js';
import { KIND_NAMES } from '../wire/constants.js';
import { parseLegacyText } from '../wire/legacy-text.js';
import { SOCKET_OPTIONS } from '../wire/socket-options.js';
import { levelOfTopic, topicFor } from '../wire/topic.js';
import { parseCount } from './duration.js';
import { withEndpoint } from './endpoint-error.js';
import { onShutdown } from './signals.js';

/** One raw record as `tail --json` prints it. */
export interface TailRecord {
  time: number;
  level: string;
  type: string;
  name: string;
  value: number;
  source: string;
  tags: Record<string, string>;
  sampleRate?: number;
}

export function registerTailCommand(program: Command): void {
  program
    .command('tail')
    .description('Stream raw records live from the broker. Subscribing turns the levels on in running apps.')
    .option('--levels <levels>', 'levels to show: a list, a floor (info+) or all', 'info+')
    .option('--broker <endpoint>', "the broker's subscriber endpoint", DEFAULT_SUBSCRIBE_ENDPOINT)
    .addOption(curveKeyFileOption())
    .addOption(curveServerKeyFileOption())
    .option('--json', 'one JSON object per record (time, level, type, name, value, source, tags)')
    .option('--count <n>', 'exit after this many records', (v: string) => parseCount(v, '--count'))
    .addHelpText(
      'after',
      `
Apps learn which levels have subscribers: while "zibrato tail --levels debug"
runs, debug records are produced by every connected app; when it stops, they
are turned off again after ${UNSUBSCRIBE_DELAY_MS / 1000} s (a level is held that long after its last
subscriber leaves, so a backend that restarts meanwhile misses nothing).

Example:
  zibrato tail --levels debug --json | jq .`,
    )
    .action(async (opts: { levels: string; broker: string; json?: boolean; count?: number } & ClientKeyOptions) => {
      const log = stderrLogger('tail');
      validateEndpoint(opts.broker, '--broker');
      const problems = new RateLimitedLog(log);
      const levels = parseLevels(opts.levels, '--levels');
      const limit = opts.count ?? Infinity;
      const curve = clientKeysOf(opts);
      const sock = new zmq.Subscriber(curve ? clientSocketOptions(curve) : {});
      Object.assign(sock, SOCKET_OPTIONS.subscriber);
      // On stderr, so stdout stays records only.
      announceBrokerAnswer(sock, opts.broker, log);
      await withEndpoint('connect', '--broker', opts.broker, () => sock.connect(opts.broker));
      for (const l of levels) sock.subscribe(topicFor(l));
      log(`showing ${levels.join(',')} from ${opts.broker}; Ctrl-C stops`);
      onShutdown(async () => sock.close(), log);
      let shown = 0;
      const print = (r: TailRecord) => {
        if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
        else {
          const tags = Object.entries(r.tags).map(([k, v]) => `${k}=${v}`).join(',');
          process.stdout.write(`${new Date(r.time).toISOString()} ${r.level.padEnd(5)} ${r.type.padEnd(7)} ${r.name} ${r.value}${r.source ? ` @${r.source}` : ''}${tags ? ` {${tags}}` : ''}\n`);
        }
        if (++shown >= limit) {
          sock.close();
        }
      };
      try {
        for await (const frames of sock) {
          try {
            if (frames.length === 1) {
              const r = parseLegacyText(frames[0]!.toString('utf8'));
              print({ time: r.timestampMs ?? Date.now(), level: LEVELS[r.level]!, type: KIND_NAMES[r.kind]!, name: r.name, value: r.value, source: r.source, tags: {} });
              continue;
            }
            const level = LEVELS[levelOfTopic(frames[0]!)] ?? '?';
            const batch = decodeBatch(frames[1]!);
            for (let i = 0; i < batch.recordCount && shown < limit; i++) {
              const s = batch.series[recordSeries(batch, i)]!;
              const rec: TailRecord = { time: batch.sentAtMs, level, type: KIND_NAMES[s.kind]!, name: s.name, value: recordValue(batch, i), source: s.source, tags: { ...s.tags } };
              if (s.sampleRate !== 1) rec.sampleRate = s.sampleRate;
              print(rec);
            }
          } catch (err) {
            problems.report('ZIB_ERR_MALFORMED_FRAME', (err as Error).message);
          }
        }
      } catch {
        // closed
      }
    });
}
