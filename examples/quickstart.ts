// Run with the pipeline up (`npx zibrato up` in another terminal):
//   node --import tsx examples/quickstart.ts
import { Zibrato } from 'zibrato';

const z = new Zibrato({ broker: process.env.ZIBRATO_BROKER ?? 'tcp://127.0.0.1:5550', source: 'checkout-svc', level: 'info', tags: { region: 'eu' } });
await z.ready({ levels: ['info'] }); // optional: wait until a backend listens, so the first records are not discarded

z.count({ level: 'info', name: 'jobs.done', value: 5 }); // value defaults to 1
z.gauge({ level: 'crit', name: 'queue.depth', value: 123 });
z.timing({ level: 'debug', name: 'db.query', ms: 12.5 });

class Repo {
  @z.timeMe({ level: 'debug', name: 'repo.load' })
  async load(): Promise<string> {
    await new Promise((r) => setTimeout(r, 5));
    return 'row';
  }

  @z.countMe({ level: 'info', name: 'repo.save' })
  save(): void {}
}
const repo = new Repo();
await repo.load();
repo.save();

{
  using _t = z.timer({ level: 'debug', name: 'block' }); // timed on scope exit
  using _c = z.counter({ level: 'info', name: 'block.runs' }); // counted on scope exit
}

const fetchThing = async (id: number) => ({ id });
const timedFetch = z.timed({ level: 'info', name: 'fetch' }, fetchThing);
await timedFetch(1);
const r = await z.time({ level: 'info', name: 'job' }, () => Promise.resolve(42));

const hits = z.counterHandle({ name: 'cache.hits', tags: { cache: 'users' } }); // the cheapest path: resolve once
for (let i = 0; i < 1000; i++) hits.inc();

await z.close(); // sends what is buffered, then releases the socket
console.log(JSON.stringify({ result: r, ...z.stats() }));
