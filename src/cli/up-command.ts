import type { Command } from 'commander';
import { loadConfig, DEFAULT_CONFIG_TEXT, validateEndpointList, type SecurityConfig, type ZibratoConfig } from '../config/config.js';
import { CURVE_ENV, readKeyPairFile, readPublicKeyFile } from '../security/keys.js';
import { checkBindSecurity } from './broker-command.js';
import { directoryPathProblems, portsInUse, type EnvironmentProblem } from '../config/check.js';
import { stderrLogger } from '../diagnostics.js';
import { ZibratoError } from '../errors.js';
import { sinkSpec } from '../sinks/registry.js';
import { Supervisor, type ChildSpec } from '../supervisor/supervisor.js';
import { flagOf } from './backend-command.js';
import { EXIT, PERMANENT_EXIT_CODES } from './exit-codes.js';
import { DEFAULT_BACKEND_STATE_DIR } from '../defaults.js';
import { onShutdown } from './signals.js';

/** Arguments and environment that give the children their CURVE keys: files on the command line, the broker's public key in the environment. */
function keyArgs(security: SecurityConfig | undefined): { broker: string[]; client: string[]; env: Record<string, string> } {
  if (!security?.brokerKeyFile || !security.clientKeyFile) return { broker: security?.insecure ? ['--insecure'] : [], client: [], env: {} };
  return {
    broker: ['--curve-key-file', security.brokerKeyFile, '--allow-publishers-file', security.allowPublishersFile!, '--allow-subscribers-file', security.allowSubscribersFile!],
    client: ['--curve-key-file', security.clientKeyFile],
    env: { [CURVE_ENV.serverKey]: readPublicKeyFile(security.brokerKeyFile, 'security.brokerKeyFile') },
  };
}

/** The child processes a config asks for, as `zibrato` argument lists. */
export function childSpecs(config: ZibratoConfig): ChildSpec[] {
  const specs: ChildSpec[] = [];
  const keys = keyArgs(config.security);
  specs.push({
    name: 'broker',
    args: [
      'broker',
      ...config.broker.publish.flatMap((e) => ['--publish', e]),
      ...config.broker.subscribe.flatMap((e) => ['--subscribe', e]),
      ...(config.broker.upstream === undefined ? [] : ['--upstream', config.broker.upstream]),
      ...keys.broker,
    ],
    // Before the backends: the broker drains its publishers and hands the last batches on (docs/delivery.md).
    stopOrder: 1,
  });
  for (const b of config.backends) {
    const spec = sinkSpec(b.sink);
    const args = ['backend', b.sink, '--name', b.name, '--levels', b.levels.join(','), '--flush', `${b.flushIntervalMs}ms`, '--broker', config.broker.subscribe[0]!];
    if (b.shard !== undefined) args.push('--shard', b.shard);
    if (config.wal.enabled && config.wal.dir !== undefined) args.push('--wal-dir', config.wal.dir);
    // Each backend keeps its position in every publisher's sequence across its
    // own restarts (docs/delivery.md), so what it missed while down is counted.
    const env: Record<string, string> = { ZIBRATO_BACKEND_STATE_DIR: process.env.ZIBRATO_BACKEND_STATE_DIR ?? DEFAULT_BACKEND_STATE_DIR, ...keys.env };
    args.push(...keys.client);
    for (const o of spec.options) {
      const v = b.options[o.key];
      if (v === undefined) continue;
      // Secrets travel in the child's environment, never on its command line.
      if (o.secret && o.env) env[o.env] = String(v);
      else if (o.type === 'boolean') {
        if (v) args.push(flagOf(o.key));
      } else args.push(flagOf(o.key), String(v));
    }
    specs.push({ name: `backend:${b.name}`, args, env, stopOrder: 2 });
  }
  for (const [i, g] of config.ingest.entries()) {
    specs.push({
      name: `ingest:${g.type}${config.ingest.length > 1 ? `:${i}` : ''}`,
      args: ['ingest', g.type, '--port', String(g.port), '--host', g.host, '--default-level', g.defaultLevel, '--broker', config.broker.publish[0]!, ...keys.client],
      env: keys.env,
      stopOrder: 0,
    });
  }
  return specs;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

interface UpOptions {
  config?: string;
  printDefaults?: boolean;
  check?: boolean;
  publish?: string[];
  subscribe?: string[];
  insecure?: boolean;
}

/** The config with `--publish`/`--subscribe` put in place of the file's broker endpoints. */
async function effectiveConfig(opts: UpOptions): Promise<ZibratoConfig> {
  const config = await loadConfig(opts.config);
  if (opts.insecure) config.security = { ...(config.security ?? {}), insecure: true };
  if (!opts.publish && !opts.subscribe) return config;
  const broker = {
    publish: opts.publish ? validateEndpointList(opts.publish, '--publish') : config.broker.publish,
    subscribe: opts.subscribe ? validateEndpointList(opts.subscribe, '--subscribe') : config.broker.subscribe,
  };
  for (const e of broker.subscribe) {
    if (broker.publish.includes(e)) throw new ZibratoError('ZIB_ERR_INVALID_OPTION', `--subscribe ${e} is also a publish endpoint; the two sides need different endpoints`);
  }
  return { ...config, broker };
}

function report(problems: EnvironmentProblem[]): string {
  return problems.map((p) => `  ${p.key}: ${p.message}`).join('\n');
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
    .option('--publish <endpoint>', "the broker's publisher endpoint, in place of the config's (repeatable)", collect)
    .option('--subscribe <endpoint>', "the broker's subscriber endpoint, in place of the config's (repeatable)", collect)
    .option('--print-defaults', 'print the embedded default config and exit')
    .option('--insecure', 'allow the broker to bind addresses other machines can reach without CURVE keys (config: security.insecure)')
    .option('--check', 'validate the config and the machine (ports free, file paths), print the processes it would start, then exit')
    .addHelpText(
      'after',
      `
Children are restarted with exponential backoff when they die; their output is
prefixed with their name. A child that exits with code 2 (usage or config
error) or 3 (endpoint or port unusable) is not restarted: up stops everything
and exits with that code, quoting the child's last lines. SIGINT (Ctrl-C) and
SIGTERM stop gateways, then the broker (it has its publishers confirm their
last send and forwards it), then backends (each makes a final flush). Children ignore signals and stop when up tells them (or when up goes
away), so a signal to the whole group (a terminal's Ctrl-C, systemd's SIGTERM)
still ends in that order with every final flush. A second Ctrl-C kills the
children at once.

Embedded defaults: broker on 5550/5551, a console backend at info+, a file
backend at debug+ writing ./zibrato-data/metrics.jsonl, and a store backend at
debug+ keeping ./zibrato-data/store.duckdb with the web UI and API on
http://127.0.0.1:5580/, flushing every 10s.

Examples:
  zibrato up --publish tcp://127.0.0.1:6550 --subscribe tcp://127.0.0.1:6551
  zibrato up -c zibrato.config.yaml --check`,
    )
    .action(async (opts: UpOptions) => {
      if (opts.printDefaults) {
        process.stdout.write(DEFAULT_CONFIG_TEXT);
        return;
      }
      const log = stderrLogger('up');
      const config = await effectiveConfig(opts);
      const sec = config.security;
      // Refused here, before any child starts, with the config key to change.
      checkBindSecurity([...config.broker.publish, ...config.broker.subscribe], sec?.brokerKeyFile ? readKeyPairFile(sec.brokerKeyFile, 'security.brokerKeyFile') : undefined, sec?.insecure, 'set security.brokerKeyFile (and the other key files), bind 127.0.0.1, or pass --insecure (security.insecure: true)');
      const specs = childSpecs(config);
      const dirs = directoryPathProblems(config);
      if (opts.check) {
        const problems = [...dirs, ...(await portsInUse(config))];
        for (const s of specs) process.stdout.write(`${s.name}: zibrato ${s.args.join(' ')}\n`);
        if (problems.length > 0) {
          log(`the config is valid, but it cannot run here:\n${report(problems)}`);
          process.exitCode = problems.some((p) => p.kind === 'config') ? EXIT.usage : EXIT.endpoint;
        }
        return;
      }
      if (dirs.length > 0) throw new ZibratoError('ZIB_ERR_INVALID_CONFIG', `config cannot run here:\n${report(dirs)}`);
      let failure: { name: string; code: number } | undefined;
      const sup = new Supervisor(specs, {
        ...config.restart,
        log,
        permanentExitCodes: PERMANENT_EXIT_CODES,
        onPermanentFailure: (name, code, lastLines) => {
          if (failure) return;
          failure = { name, code };
          const why = lastLines.filter((l) => /ZIB_ERR_|error/i.test(l)).at(-1) ?? lastLines.at(-1) ?? '(no output)';
          log(`ZIB_ERR_CHILD_FAILED: ${name} cannot start: ${why.replace(/^\S+ \[[^\]]+\] /, '')}`);
          log(`stopping the other processes; fix the problem above and run zibrato up again`);
          void sup.stop().then(() => process.exit(code));
        },
      });
      sup.start();
      log(`running ${specs.length} processes from ${opts.config ?? 'embedded defaults'}; Ctrl-C stops them with a final flush`);
      for (const b of config.backends.filter((b) => b.sink === 'store')) {
        // With port 0 only the child knows its port: point at its own "web UI and API on …" line.
        log(b.options.port === 0 ? `web UI and API of backend ${b.name}: on a free port, named in its "web UI and API on" line below` : `web UI and API of backend ${b.name}: ${storeUrl(b.options)}`);
      }
      onShutdown(() => sup.stop(), log, { onInsist: () => sup.killAll() });
    });
}
