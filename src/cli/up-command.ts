import type { Command } from 'commander';
import { loadConfig, DEFAULT_CONFIG_TEXT, type ZibratoConfig } from '../config/config.js';
import { stderrLogger } from '../diagnostics.js';
import { sinkSpec } from '../sinks/registry.js';
import { Supervisor, type ChildSpec } from '../supervisor/supervisor.js';
import { flagOf } from './backend-command.js';
import { onShutdown } from './signals.js';

/** The child processes a config asks for, as `zibrato` argument lists. */
export function childSpecs(config: ZibratoConfig): ChildSpec[] {
  const specs: ChildSpec[] = [];
  specs.push({
    name: 'broker',
    args: ['broker', ...config.broker.publish.flatMap((e) => ['--publish', e]), ...config.broker.subscribe.flatMap((e) => ['--subscribe', e])],
    stopOrder: 2,
  });
  for (const b of config.backends) {
    const spec = sinkSpec(b.sink);
    const args = ['backend', b.sink, '--name', b.name, '--levels', b.levels.join(','), '--flush', `${b.flushIntervalMs}ms`, '--broker', config.broker.subscribe[0]!];
    const env: Record<string, string> = {};
    for (const o of spec.options) {
      const v = b.options[o.key];
      if (v === undefined) continue;
      // Secrets travel in the child's environment, never on its command line.
      if (o.secret && o.env) env[o.env] = String(v);
      else if (o.type === 'boolean') {
        if (v) args.push(flagOf(o.key));
      } else args.push(flagOf(o.key), String(v));
    }
    specs.push({ name: `backend:${b.name}`, args, env, stopOrder: 1 });
  }
  for (const [i, g] of config.ingest.entries()) {
    specs.push({
      name: `ingest:${g.type}${config.ingest.length > 1 ? `:${i}` : ''}`,
      args: ['ingest', g.type, '--port', String(g.port), '--host', g.host, '--default-level', g.defaultLevel, '--broker', config.broker.publish[0]!],
      stopOrder: 0,
    });
  }
  return specs;
}

/** The URL a store backend serves (docs/http-api.md). */
function storeUrl(options: Record<string, string | number | boolean | undefined>): string {
  const host = String(options.host);
  return `http://${host.includes(':') ? `[${host}]` : host}:${String(options.port)}/`;
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('Run the broker, backends and gateways as supervised child processes, in one command.')
    .option('-c, --config <file>', 'YAML or JSON config (default: embedded defaults, see --print-defaults)')
    .option('--print-defaults', 'print the embedded default config and exit')
    .option('--check', 'validate the config and print the processes it would start, then exit')
    .addHelpText(
      'after',
      `
Children are restarted with exponential backoff when they die; their output is
prefixed with their name. SIGINT/SIGTERM stops gateways, then backends (each
makes a final flush), then the broker.

Embedded defaults: broker on 5550/5551, a console backend at info+, a file
backend at debug+ writing ./zibrato-data/metrics.jsonl, and a store backend at
debug+ keeping ./zibrato-data/store.duckdb with the web UI and API on
http://127.0.0.1:5580/, flushing every 10s.`,
    )
    .action(async (opts: { config?: string; printDefaults?: boolean; check?: boolean }) => {
      if (opts.printDefaults) {
        process.stdout.write(DEFAULT_CONFIG_TEXT);
        return;
      }
      const log = stderrLogger('up');
      const config = await loadConfig(opts.config);
      const specs = childSpecs(config);
      if (opts.check) {
        for (const s of specs) process.stdout.write(`${s.name}: zibrato ${s.args.join(' ')}\n`);
        return;
      }
      const sup = new Supervisor(specs, { ...config.restart, log });
      sup.start();
      log(`running ${specs.length} processes from ${opts.config ?? 'embedded defaults'}; Ctrl-C stops them with a final flush`);
      for (const b of config.backends.filter((b) => b.sink === 'store')) log(`web UI and API of backend ${b.name}: ${storeUrl(b.options)}`);
      onShutdown(() => sup.stop(), log);
    });
}
