// Renders the headline of docs/performance.md from the `app` benchmark
// (bench/app/main.ts): what instrumenting every request of a real service
// costs with each library, same run, same machine. Called by bench/report.mjs.

const LABELS = {
  none: '(a) uninstrumented',
  none2: "(a′) uninstrumented, identical to (a)",
  hooks: '(a″) the fastify hooks every variant uses, computing the same arguments, recording nothing',
  zibrato: '(b) **Zibrato** → `zibrato up` (file backend)',
  prom: '(c) prom-client, `/metrics` scraped every 1 s by Prometheus',
  otel: '(d) OpenTelemetry SDK, OTLP/HTTP protobuf export every 1 s',
  hotshots: '(e) hot-shots → etsy statsd (UDP)',
};
const PEERS = ['prom', 'otel', 'hotshots'];

const us = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(1)} µs`);
const ms = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)} ms`);
const signedUs = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : Math.abs(x) >= 1000 ? `${x > 0 ? '+' : '−'}${(Math.abs(x) / 1000).toFixed(2)} ms` : `${x > 0 ? '+' : '−'}${Math.abs(x).toFixed(0)} µs`);
const signedPct = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : `${x > 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} %`);
const pct = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const int = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : Math.round(x).toLocaleString('en-US'));

/**
 * The headline section, or a line saying the benchmark did not run.
 * @param {any} app the `app` entry of bench/results/*.json
 * @param {{ command: string, quick: boolean, date: string }} out
 */
export function renderAppHeadline(app, out) {
  const L = [];
  L.push('## Headline: the observer effect on a real service', '');
  if (!app) {
    L.push('The real-service benchmark (`bench/app/`) did not run in this run.', '');
    return L;
  }
  const c = app.config;
  const v = app.variants;
  const z = v.zibrato;
  const a2 = v.none2;
  L.push(
    `A fastify service (one JSON route, one route with a ${c.dbWaitMs} ms async "database" wait) instrumented five ways with **the same four measurements per request**: a timer tagged with \`route\`, \`method\`, \`status\`; a request counter; an in-flight gauge; a per-user counter whose tag takes ${int(c.users)} distinct values. autocannon, in its own process, drives it at a fixed **${int(c.fixedRate)} requests/s** for CPU per request and latency, then at **saturation** for requests/s. ${methodNote(app)} CPU is the service's time on CPU from the scheduler's nanosecond counters (every thread, \`/proc/<pid>/task/*/schedstat\`); latency is autocannon's per-response time, percentiles computed exactly over every response.${pinNote(app.pinning)}`,
    '',
  );
  L.push(
    '| variant | CPU / request at the fixed rate | CPU added | p50 | p99 | p99 added | p99.9 | saturation req/s | throughput lost | requests counted / completed |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const [key, label] of Object.entries(LABELS)) {
    const x = v[key];
    if (!x) continue;
    const m = x.median;
    const d = x.vsNone;
    const isBase = key === 'none';
    const counted = x.counts.reported == null ? '—' : `${int(x.counts.reported)} / ${int(x.counts.completed)}${x.counts.lost > 0 ? ` (**${int(x.counts.lost)} lost**, ${pct(x.counts.lost / x.counts.completed)})` : x.counts.lost < 0 ? ` (${int(-x.counts.lost)} extra)` : ' (all)'}`;
    L.push(
      `| ${label} | ${us(m.cpuUsPerRequest)} | ${isBase ? '—' : signedPct(d.cpuAdded)} | ${ms(m.p50Ms)} | ${ms(m.p99Ms)} | ${isBase ? '—' : signedUs(d.p99AddedUs)} | ${ms(m.p999Ms)} | ${int(m.saturationRps)} | ${isBase ? '—' : signedPct(d.throughputLost)} | ${counted} |`,
    );
  }
  L.push('');

  // Noise: two identical services must agree before any difference means anything.
  L.push(...renderNoiseFloor(app));
  if (a2.paired) L.push(...renderResolvable(v));
  if (z.paired) L.push(...renderWhatARequestPays(app));

  // Targets. A verdict needs the measured value and the noise floor ((a′) against (a) for the
  // same measure) on the same side of the target: inside the noise it is 'not resolvable'.
  const noise = noiseOf(v);
  const tpLost = z.vsNone.throughputLost;
  const p99Added = z.vsNone.p99AddedUs;
  const within = (x, limit, n) => (!Number.isFinite(x) ? '**missed**' : x + n <= limit ? '**met**' : x - n > limit ? '**missed**' : `**not resolvable here**: ${x <= limit ? 'within the target, but ' : 'over the target, but '}the noise floor is as large as the margin`);
  const ahead = (f, n) => {
    const gaps = PEERS.map((p) => (v[p] ? f(v[p]) - f(z) : NaN));
    if (gaps.some((g) => !Number.isFinite(g) || g < -n)) return '**missed**';
    return gaps.every((g) => g > n) ? '**met**' : '**not resolvable here**: a peer is within the noise floor of Zibrato';
  };
  // Requests/s at saturation only measures the service when the service's CPU bounded it.
  const unsaturated = busyAtSat(v.none) < SATURATED_CPU_SHARE;
  const notSaturated = `**not resolvable here**: (a)'s service was on CPU ${pct(busyAtSat(v.none))} of its saturation windows, so requests/s measured what else bounded it (the load generator's core, the machine's other work) as much as the service`;
  const withinTp = (x, n) => (unsaturated ? notSaturated : within(x, 0.01, n));
  const peerList = (f, fmt) => PEERS.map((p) => `${PEER_NAMES[p]} ${fmt(f(v[p]))}`).join('; ');
  L.push(
    '| target (Zibrato) | measured | verdict |',
    '|---|---|---|',
    `| ≤ 1 % throughput lost at saturation | ${signedPct(tpLost)} (noise floor ${pct(noise.throughput)}) | ${withinTp(tpLost, noise.throughput)} |`,
    ...(z.vsNone.capacityLost !== undefined
      ? [`| ≤ 1 % throughput lost, per second of the service's CPU (what it would serve with the core to itself) | ${signedPct(z.vsNone.capacityLost)} (noise floor ${pct(noise.capacity)}) | ${within(z.vsNone.capacityLost, 0.01, noise.capacity)} |`]
      : []),
    `| ≤ 5 µs added to p99 at the fixed rate | ${signedUs(p99Added)} (noise floor ${signedUs(noise.p99Us).replace('+', '')}) | ${noise.p99Us > 5 ? `**not resolvable here**: the noise floor is ${signedUs(noise.p99Us).replace('+', '')}, so neither a met nor a missed 5 µs can be shown on this machine` : within(p99Added, 5, noise.p99Us)} |`,
    `| ahead of every peer on throughput lost | Zibrato ${signedPct(tpLost)}; ${peerList((x) => x?.vsNone.throughputLost, signedPct)} | ${unsaturated ? notSaturated : ahead((x) => x.vsNone.throughputLost, noise.throughput)} |`,
    `| ahead of every peer on p99 added | Zibrato ${signedUs(p99Added)}; ${peerList((x) => x?.vsNone.p99AddedUs, signedUs)} | ${ahead((x) => x.vsNone.p99AddedUs, noise.p99Us)} |`,
    ...(z.pairedVsHooks
      ? [
          `| the library alone, over (a″) the same hooks recording nothing: throughput lost | Zibrato ${signedPct(z.pairedVsHooks.throughputLost.median)}; ${peerList((x) => x?.pairedVsHooks?.throughputLost.median, signedPct)} | ${withinTp(z.pairedVsHooks.throughputLost.median, noise.throughput)} (≤ 1 %) |`,
          `| the library alone, over (a″): CPU per request added | Zibrato ${signedUs1(z.pairedVsHooks.cpuAddedUs.median)}; ${peerList((x) => x?.pairedVsHooks?.cpuAddedUs.median, signedUs1)} | ${PEERS.every((p) => v[p]?.pairedVsHooks && z.pairedVsHooks.cpuAddedUs.median <= v[p].pairedVsHooks.cpuAddedUs.median) ? 'lowest' : 'not the lowest'} |`,
        ]
      : []),
    `| CPU per request added (reported, no target) | Zibrato ${signedPct(z.vsNone.cpuAdded)}; ${peerList((x) => x?.vsNone.cpuAdded, signedPct)} | ${PEERS.every((p) => v[p] && z.vsNone.cpuAdded <= v[p].vsNone.cpuAdded) ? 'lowest' : 'not the lowest'} |`,
    '',
  );

  // Correctness.
  const lossy = Object.entries(v).filter(([, x]) => x.counts.lost > 0);
  L.push(
    `**Correctness, same run.** Each system's request counter is read where it lands — Zibrato: the file backend's flushed totals; prom-client: a Prometheus query of \`app_requests_total\`; OTel: the last cumulative value the OTLP receiver decoded; hot-shots: the counters statsd flushed — and compared with what autocannon completed (warm-up, fixed rate and saturation). ${lossy.length ? `Lost: ${lossy.map(([k, x]) => `${LABELS[k].replace(/\*\*/g, '').replace(/^\([a-e′]+\) /, '')} ${int(x.counts.lost)} of ${int(x.counts.completed)} (${pct(x.counts.lost / x.counts.completed)})`).join('; ')}${v.hotshots?.counts.lost > 0 ? '. hot-shots sends one UDP datagram per measurement (four per request); at saturation the single-threaded statsd daemon falls behind and the kernel drops datagrams that nobody counts' : ''}.` : 'Every system counted every request.'} HTTP errors: ${Object.entries(v).map(([k, x]) => `${k} ${int(x.counts.errors)}`).join(', ')}.`,
    '',
  );
  if (z.clientStats) L.push(`Zibrato client \`stats()\` summed over the sets: ${Object.entries(z.clientStats).map(([k, n]) => `${k} ${int(n)}`).join(', ')}.`, '');

  // The profile.
  const p = app.profile;
  if (p) {
    const busy = p.busyMs || 1;
    const layer = (k) => `${pct((p.layers[k] ?? 0) / busy)}`;
    L.push(
      `**What limits Zibrato here: a CPU profile of the service under the fixed-rate load** (\`node --cpu-prof --cpu-prof-interval=100\`, a separate round of the Zibrato variant${app.pinning && !app.pinning.unpinned ? ', not pinned: the profiler\'s sampling thread needs a CPU beside the busy main thread' : ''}; ${p.windowed ? 'samples of the fixed-rate phase only, without start-up and warm-up' : 'the whole process, start-up included'}; self time, shares of the busy time):`,
      '',
      `Layers: Zibrato client (\`dist/\`) ${layer('zibrato')}, zeromq ${layer('zeromq')}, fastify ${layer('fastify')}, Node internals ${layer('node')}, GC ${layer('gc')}, V8/native (program) ${layer('program')}, other packages ${layer('other')}, the app itself ${layer('app')}. ${int(p.busyMs)} ms busy of ${int(p.sampledMs)} ms sampled.`,
      '',
      ...(() => {
        const zshare = ((p.layers.zibrato ?? 0) + (p.layers.zeromq ?? 0)) / busy;
        const first = p.topInstrumentation[0];
        const cpu = v.zibrato.median.cpuUsPerRequest;
        return [
          `In this round the Zibrato client and zeromq took ${pct(zshare)} of the service's busy time${first ? `; the largest single cost is \`${first.name}\` (${first.where}) at ${pct(first.share)}` : ''}. At ${us(cpu)} of CPU per request against ${us(v.none.median.cpuUsPerRequest)} uninstrumented, that share is what the instrumentation adds; the functions below are where to cut.`,
          '',
        ];
      })(),
      '| function (Zibrato client and zeromq) | where | self time | share of busy |',
      '|---|---|---|---|',
      ...p.topInstrumentation.slice(0, 8).map((f) => `| \`${f.name}\` | ${f.where} | ${f.selfMs.toFixed(1)} ms | ${pct(f.share)} |`),
      '',
      '| top functions overall | layer | where | share of busy |',
      '|---|---|---|---|',
      ...p.top.slice(0, 10).map((f) => `| \`${f.name}\` | ${f.layer} | ${f.where} | ${pct(f.share)} |`),
      '',
    );
  }
  const merged = out.merged?.app;
  L.push(
    `${merged ? `This section was measured on ${merged.date.slice(0, 16).replace('T', ' ')} UTC by \`${merged.command}\` (${Math.round(merged.seconds)} s), after the rest of this document. ` : ''}Reproduce: \`npm run build && node bench/run.js --only app --merge\` (this benchmark alone, ~${Math.max(1, Math.round((app.seconds ?? 0) / 60))} min; its results replace this section; \`npm run bench\` runs it with the rest).${out.quick ? ' These figures come from the **quick** run (fewer, shorter rounds): indicative only.' : ''} The machine is shared (see [Machine](#machine)): figures from a busy machine are provisional; the ratios in one run are what compare.`,
    '',
  );
  return L;
}

const NAMES = { none: '(a)', zibrato: 'Zibrato', prom: 'prom-client', otel: 'OTel', hotshots: 'hot-shots', none2: '(a′)', hooks: '(a″) hooks only' };
/** Where each system's work runs outside the service, and so whose CPU "moved out" counts. */
const MOVED_TO = {
  zibrato: '`zibrato up` + its broker and file backend',
  prom: 'Prometheus (scrape and TSDB; rendering `/metrics` is in the service)',
  otel: 'the OTLP receiver (decoding every export)',
  hotshots: 'the statsd daemon',
};

const PEER_NAMES = { prom: 'prom-client', otel: 'OTel', hotshots: 'hot-shots' };

/** A paired comparison's per-window values (`rounds` in results written before the windowed design). */
const pairsOf = (p) => p?.pairs ?? p?.rounds ?? [];

/** The p-quantile of numbers (linear between ranks). */
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (i - lo) * ((s[Math.ceil(i)] ?? s[lo]) - s[lo]);
}

/** How the run measured, in a sentence or three (the windowed design, or the older rounds). */
function methodNote(app) {
  const c = app.config;
  const warm = `walks ${c.warmupRequests >= c.users ? `all ${int(c.users)} user ids` : `${int(c.warmupRequests)} of the ${int(c.users)} user ids`} once (${int(c.warmupRequests)} requests)`;
  if (!c.sets) return `Each of ${c.rounds} rounds starts a fresh service per variant, ${warm} before measuring, and runs the variants interleaved; each comparison with (a) is the median of the per-round comparisons with the same round's (a).`;
  const n = pairsOf(app.variants.none2?.paired?.cpuAdded).length;
  const settle = app.variants.otel?.median?.settleMs;
  return `**Many short windows, round-robin, paired with (a) at the same moment.** ${c.sets === 1 ? 'One set' : `Each of ${c.sets} sets`} of processes starts every variant's service at once, each ${warm}, and keeps those not being measured **paused** (SIGSTOP: no CPU, no cache traffic). Then ${c.cycles} cycles per set${c.warmupCycles ? ` (after ${c.warmupCycles} unmeasured, so the JIT and the heap settle)` : ''}, each in an order shuffled per cycle (seeded, ${c.seed}), measure every variant once: resume its service (SIGCONT), wait until it has settled (what it owes from its pause — an overdue OTel export, the Prometheus scrapes queued on its socket, a Zibrato flush — is done: its CPU stays under ${pct(c.settleBusyShare)} of a core for ${c.settleQuietMs} ms${Number.isFinite(settle) ? `; median settle ${int(settle)} ms for OTel, ${int(app.variants.none?.median?.settleMs)} ms for (a)` : ''}), run ${int(c.fixedRequests)} requests at the fixed rate (${c.connections} connections; ${(c.fixedRequests / c.fixedRate).toFixed(0)} s, a whole number of the 1 s export, scrape and flush intervals) and a saturation window of about ${c.saturationSeconds} s (${c.saturationConnections} connections), wait until it is quiet again (what the saturation run brought on, a major GC above all, is paid before the pause, not in the variant's next window), and pause it. Every window is compared with (a)'s value **at the same moment**, interpolated between the (a) windows just before and after it in the same set, a few seconds away (a drift of the machine's load over those seconds cancels), and each comparison in the tables is **the median over ${n || 'the'} windows**; the absolute columns are medians over windows, and latency percentiles **pool every fixed-rate response** of a variant (the p99 added is the difference of the pooled p99s).`;
}

/** (a′) against (a) for each measure, as magnitudes: what a difference must exceed to mean anything. */
function noiseOf(v) {
  const d = v.none2?.vsNone ?? {};
  return { cpu: Math.abs(d.cpuAdded), throughput: Math.abs(d.throughputLost), p99: Math.abs(d.p99Added ?? NaN), p99Us: Math.abs(d.p99AddedUs), p50: Math.abs(d.p50Added ?? NaN), capacity: Math.abs(d.capacityLost ?? NaN) };
}

/** The issue's bar for the benchmark itself: two identical uninstrumented services agree within this. */
export const NOISE_TARGET = 0.02;

/** The noise floor: (a′) against (a) per measure, the 2 % verdict, and whether the spread is between windows or between sets of processes. */
function renderNoiseFloor(app) {
  const v = app.variants;
  const a2 = v.none2;
  const n = noiseOf(v);
  const ok = (x) => (Number.isFinite(x) ? (x <= NOISE_TARGET ? 'within 2 %' : '**over 2 %**') : 'n/a');
  const verdict = [n.cpu, n.throughput, n.p99].every((x) => Number.isFinite(x) && x <= NOISE_TARGET);
  const L = [
    `**Noise floor.** (a′) is the same service as (a), measured the same way: how far the two disagree is what noise alone does. Target (issue 10): within 2 % on CPU per request, saturation throughput and p99 — **${verdict ? 'met' : 'missed'}** in this run.`,
    '',
  ];
  if (!a2?.paired) {
    L.push(`(a′) against (a): CPU ${signedPct(a2?.vsNone.cpuAdded)}, throughput lost ${signedPct(a2?.vsNone.throughputLost)}, p99 ${signedUs(a2?.vsNone.p99AddedUs)}.`, '');
    L.push(...renderSaturation(v));
    return L;
  }
  const p = a2.paired;
  const spread = (pp, fmt) => `${fmt(quantile(pairsOf(pp), 0.25))} … ${fmt(quantile(pairsOf(pp), 0.75))}`;
  const bySet = (xs, fmt) => (xs?.length > 1 ? xs.map(fmt).join(', ') : xs?.length === 1 ? `${fmt(xs[0])} (one set)` : 'n/a');
  L.push(
    `| measure, (a′) against (a) | difference | 2 % target | by set of processes (each set's median) | windows: middle half of the pairs |`,
    '|---|---|---|---|---|',
    `| CPU per request at the fixed rate (paired) | ${signedPct(a2.vsNone.cpuAdded)} | ${ok(n.cpu)} | ${bySet(p.cpuAdded.bySet, signedPct)} | ${spread(p.cpuAdded, signedPct)} |`,
    `| saturation throughput (paired) | ${signedPct(-a2.vsNone.throughputLost)} | ${ok(n.throughput)} | ${bySet(p.throughputLost.bySet?.map((x) => -x), signedPct)} | ${spread({ pairs: pairsOf(p.throughputLost).map((x) => -x) }, signedPct)} |`,
    ...(p.capacityLost ? [`| saturation throughput per second of the service's CPU (paired) | ${signedPct(-a2.vsNone.capacityLost)} | ${ok(n.capacity)} | ${bySet(p.capacityLost.bySet?.map((x) => -x), signedPct)} | ${spread({ pairs: pairsOf(p.capacityLost).map((x) => -x) }, signedPct)} |`] : []),
    `| p99 at the fixed rate (pooled) | ${signedPct(a2.vsNone.p99Added)} (${signedUs(a2.vsNone.p99AddedUs)}) | ${ok(n.p99)} | ${bySet(a2.pooledBySet?.map((x) => x.p99Added), signedPct)} | ${spread(p.p99AddedUs, signedUs)} (per window) |`,
    `| p50 at the fixed rate (pooled) | ${signedPct(a2.vsNone.p50Added)} | ${ok(n.p50)} (not part of the target) | — | ${spread(p.p50AddedUs, signedUs)} (per window) |`,
    '',
  );
  const sets = p.cpuAdded.bySet ?? [];
  if (sets.length > 1) {
    const between = (xs) => Math.max(...xs) - Math.min(...xs);
    const iqr = (pp) => quantile(pairsOf(pp), 0.75) - quantile(pairsOf(pp), 0.25);
    L.push(
      `**Where the spread is.** CPU: the sets' medians span ${pct(between(sets))}, the windows' middle half ${pct(iqr(p.cpuAdded))}; throughput: sets ${pct(between(p.throughputLost.bySet))}, windows ${pct(iqr(p.throughputLost))}. ${between(sets) > NOISE_TARGET && between(sets) > iqr(p.cpuAdded) / 2 ? 'The sets disagree more than the median of a set\'s windows moves: a process brings an offset of its own (heap layout, JIT), which only more sets average out.' : 'The sets agree: what is left is window-to-window noise, which more windows average out.'}`,
      '',
    );
  }
  const mn = app.machineNoise;
  if (mn) {
    L.push(
      `**The machine during the windows.** Other processes used a median ${pct(mn.othersBusyShareMedian)} (up to ${pct(mn.othersBusyShareMax)}) of the service's CPU over the fixed-rate windows, and the hypervisor stole ${pct(mn.stealShareMedian)} (\`/proc/stat\`, 10 ms ticks, over ${int(mn.windows)} windows): pinning keeps the benchmark's own processes off that CPU, not the rest of the machine's. ${verdict ? '' : `What is left of (a′) against (a) is what pairing and medians did not cancel of that: ${mn.othersBusyShareMedian > 0.05 ? 'on a machine this busy, a window shares its core (and its caches) with whatever else runs, and each process is slowed in its own way' : 'the machine was mostly quiet, so the rest is the processes\' own variation (JIT, GC, heap layout)'}.`}`,
      '',
    );
  }
  L.push(...renderSaturation(v));
  L.push('A difference with (a) smaller than these is not a measured difference.', '');
  return L;
}

function pinNote(pinning) {
  if (!pinning) return '';
  if (pinning.unpinned) return ` The service was **not** pinned to a CPU (${pinning.unpinned}).`;
  return ` The service runs on CPU ${pinning.serviceCpus} (\`taskset\`), apart from the benchmark's other processes (the machine's other work is not kept off it: see the noise floor); autocannon and every peer (\`zibrato up\` and its children, Prometheus, statsd, the OTLP receiver) run on CPU ${pinning.othersCpus}, so their work lands neither in the service's CPU time nor in its latency — and is reported below as CPU moved out of the service, so nothing is hidden.`;
}

/** The share of its saturation windows a variant's service was on CPU (requests/s over requests per CPU-second); NaN when not measured. */
const busyAtSat = (x) => (x?.median?.saturationPerCpuSecond ? x.median.saturationRps / x.median.saturationPerCpuSecond : NaN);

/** Below this share of CPU in the saturation windows, (a)'s service was not what bounded requests/s. */
export const SATURATED_CPU_SHARE = 0.9;

/** How saturated the saturation windows were. */
function renderSaturation(v) {
  const L = [];
  if (Number.isFinite(busyAtSat(v.none))) {
    L.push(
      `**How saturated saturation was.** In the saturation windows the service was on CPU ${['none', 'zibrato', 'prom', 'otel', 'hotshots'].map((k) => `${NAMES[k] ?? '(a)'} ${pct(busyAtSat(v[k]))}`).join(', ')} of the time (medians: requests/s over requests per CPU-second). ${busyAtSat(v.none) < SATURATED_CPU_SHARE ? 'Well under 100 %: the service was not the bottleneck alone — the core it shares with the machine\'s other work, the load generator (on the other core, with every peer) and the /db route\'s wait all bound it — so requests/s at "saturation" moves with all of those, and the throughput lost per second of the service\'s CPU is the steadier measure of what the instrumentation costs.' : 'Close to 100 %: the service\'s CPU was the bottleneck, as saturation intends.'}`,
      '',
    );
  }
  return L;
}

/** Fewest pairs a sign test is taken on. */
export const MIN_PAIRS_TO_RESOLVE = 5;

/** Two-sided sign test: the chance of signs at least this lopsided among the non-zero `xs` if each sign were a coin toss. */
export function signTestP(xs) {
  const pos = xs.filter((x) => x > 0).length;
  const neg = xs.filter((x) => x < 0).length;
  const n = pos + neg;
  if (!n) return 1;
  const k = Math.max(pos, neg);
  let tail = 0;
  let c = 1; // C(n, 0)
  for (let i = 0; i <= n; i++) {
    if (i >= k) tail += c;
    c = (c * (n - i)) / (i + 1);
  }
  return Math.min(1, (2 * tail) / 2 ** n);
}

/**
 * Whether a difference with (a) is measured: larger than (a′)'s difference for
 * the same measure, and its sign steady over at least {@link MIN_PAIRS_TO_RESOLVE}
 * pairs (a two-sided sign test under 5 %).
 */
export function resolvable(p, noise) {
  const xs = pairsOf(p);
  if (!p || !Number.isFinite(p.median) || xs.length < MIN_PAIRS_TO_RESOLVE) return false;
  return Math.abs(p.median) > Math.abs(noise) && signTestP(xs) < 0.05;
}

function renderResolvable(v) {
  const a2 = v.none2.paired;
  const cell = (x, k, fmt) => {
    const p = x.paired?.[k];
    if (!p) return 'n/a';
    const xs = pairsOf(p);
    return `${fmt(p.median)} (${p.sameSign}/${xs.length} alike, p ${signTestP(xs) < 0.001 ? '< 0.001' : signTestP(xs).toFixed(3)}) ${resolvable(p, a2[k].median) ? '**resolved**' : xs.length < MIN_PAIRS_TO_RESOLVE ? 'too few pairs' : 'within noise'}`;
  };
  const L = [
    `**Which differences are resolved.** A difference with (a) counts as measured when it is larger than (a′)'s for the same measure and its sign holds across the pairs (a two-sided sign test, p < 0.05, over at least ${MIN_PAIRS_TO_RESOLVE} pairs). p99 here is the median of the per-window differences.`,
    '',
    '| variant | CPU / request added | throughput lost | p99 added (per window) |',
    '|---|---|---|---|',
  ];
  for (const k of ['hooks', 'zibrato', 'prom', 'otel', 'hotshots']) {
    const x = v[k];
    if (!x?.paired) continue;
    L.push(`| ${NAMES[k]} | ${cell(x, 'cpuAdded', signedPct)} | ${cell(x, 'throughputLost', signedPct)} | ${cell(x, 'p99AddedUs', signedUs)} |`);
  }
  L.push('');
  return L;
}

const signedUs1 = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)} µs`);

/** What one request costs with each system, in the service and outside it, and what that means for the targets. */
function renderWhatARequestPays(app) {
  const v = app.variants;
  const a = v.none;
  const L = [
    '### What a request pays',
    '',
    `CPU per request at the fixed rate, ${app.config.sets ? "each window paired with (a) at the same moment and taken as the median over windows" : "paired with the same round's (a) and taken as the median over rounds"}. In the service: by thread, from the scheduler's nanosecond counters (\`/proc/<pid>/task/*/schedstat\`). Moved out: the CPU of the processes that take the system's work off the service over the same fixed-rate window, less what they burn idle (the median, over the same cycle's windows of the other variants, of the same processes' CPU per second, times this window's length). (a) itself uses ${us(a.median.cpuUsPerRequest)} per request (main thread ${us(a.median.threadCpuUsPerRequest.main)}, other threads ${us(a.median.threadCpuUsPerRequest.other)}).`,
    '',
    '| variant | added in the service | main thread | ZeroMQ I/O threads | other threads (GC, libuv) | the library alone (over a″, main thread) | moved out to | CPU moved out | total added |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const k of ['none2', 'hooks', 'zibrato', 'prom', 'otel', 'hotshots']) {
    const x = v[k];
    if (!x?.paired) continue;
    const p = x.paired;
    const moved = p.movedOutUs?.median;
    const total = p.cpuAddedUs.median + (moved ?? 0);
    const alone = x.pairedVsHooks ? `${signedUs1(x.pairedVsHooks.cpuAddedUs.median)} (${signedUs1(x.pairedVsHooks.mainAddedUs.median)})` : '—';
    L.push(`| ${NAMES[k]} | ${signedUs1(p.cpuAddedUs.median)} | ${signedUs1(p.mainAddedUs.median)} | ${signedUs1(p.zmqAddedUs.median)} | ${signedUs1(p.otherAddedUs.median)} | ${k === 'none2' ? '—' : alone} | ${MOVED_TO[k] ?? '—'} | ${moved === undefined ? '—' : signedUs1(moved)} | ${signedUs1(total)} |`);
  }
  L.push('');

  const cc = app.clientCost;
  if (cc) {
    L.push(
      `**The Zibrato instrumentation without HTTP** (\`bench/app/client-cost.ts\`, on the service's CPU, through the same \`zibrato up\`): the service's per-request calls driven from a timer at ${int(cc.config.rate)} requests/s (${int(cc.config.requestsPerRound)} requests a round, ${cc.config.rounds} rounds, each against the same loop without them) cost **${signedUs1(cc.mainAddedUs)} of main-thread CPU per request**, ${signedUs1(cc.otherAddedUs)} on the other threads and ${us(cc.zmqUs)} on ZeroMQ's I/O thread: the calls, batch sealing, the send and the flush timer, with caches as cold as a service leaves them between requests. ${Number.isFinite(v.zibrato.paired.mainAddedUs.median) ? `In the service, Zibrato's main-thread cost over (a) is ${signedUs1(v.zibrato.paired.mainAddedUs.median)}${v.zibrato.pairedVsHooks ? `, over (a″) ${signedUs1(v.zibrato.pairedVsHooks.mainAddedUs.median)}` : ''}: the rest is the fastify hooks and noise.` : ''}`,
      '',
    );
  }

  // The targets, in µs: what 1 % of throughput is per request, against what Zibrato adds and the noise.
  const z = v.zibrato.paired;
  const a2 = v.none2.paired;
  const baseUs = a.median.cpuUsPerRequest;
  const baseMain = a.median.threadCpuUsPerRequest.main;
  const onePctUs = baseMain / 100;
  const impliedLoss = z.mainAddedUs.median / baseMain;
  L.push(
    `**What limits the 1 % / 5 µs targets on this machine.** ${busyAtSat(a) < SATURATED_CPU_SHARE ? `At saturation the service should be bound by its main thread (in this run it was not: it was on CPU ${pct(busyAtSat(a))} of its saturation windows), which spends` : 'At saturation the service is bound by its main thread, which spends'} ${us(baseMain)} per request uninstrumented (${us(baseUs)} with the other threads): 1 % of throughput is **${onePctUs.toFixed(2)} µs of main-thread CPU per request**. Zibrato adds ${signedUs1(z.mainAddedUs.median)} there (${signedPct(impliedLoss)} of the main thread's work, the throughput loss that cost alone predicts; measured at saturation: ${signedPct(z.throughputLost.median)}, against a noise floor of ${pct(Math.abs(a2.throughputLost.median))}). The four measurements per request are five client calls (two gauge sets, a tagged timing, a counter increment, a per-user tagged count, one of ${int(app.config.users)} series); ${app.profile ? `the profile below puts the Zibrato client and zeromq at ${pct(((app.profile.layers.zibrato ?? 0) + (app.profile.layers.zeromq ?? 0)) / (app.profile.busyMs || 1))} of the main thread's busy time` : 'no profile was taken in this run'}. p99 at ${int(app.config.fixedRate)}/s is a queueing figure: Zibrato adds ${signedUs(z.p99AddedUs.median)} against (a′)'s ${signedUs(a2.p99AddedUs.median)} from noise alone, so a 5 µs target is ${Math.abs(a2.p99AddedUs.median) > 5 ? '**below what this machine resolves**' : 'within what this run resolves'}.`,
    '',
  );
  return L;
}

const README_START = '<!-- overhead:start (generated by bench/report.mjs from bench/results/latest.json) -->';
const README_END = '<!-- overhead:end -->';

/** The README's "Overhead" paragraph: the headline figures in a few lines. */
export function renderReadmeOverhead(app, out) {
  const L = [README_START, '## Overhead', ''];
  if (!app) {
    L.push('See [docs/performance.md](docs/performance.md).', README_END);
    return L.join('\n');
  }
  const v = app.variants;
  const row = (k, name) => (v[k] ? `${name}: throughput lost ${pct(v[k].vsNone.throughputLost)}, p99 ${signedUs(v[k].vsNone.p99AddedUs)}, CPU per request ${signedPct(v[k].vsNone.cpuAdded)}` : null);
  const rows = [row('zibrato', '**Zibrato**'), row('prom', 'prom-client'), row('otel', 'OpenTelemetry SDK'), row('hotshots', 'hot-shots')].filter(Boolean);
  L.push(
    `What instrumenting every request of a real fastify service costs (a timer tagged with route, method and status, a request counter, an in-flight gauge and a per-user counter over ${int(app.config.users)} users), against the same service uninstrumented, in one run on one machine (${out.merged?.app?.date?.slice(0, 10) ?? out.date.slice(0, 10)}, ${out.machine.nproc} shared cores; two identical uninstrumented runs differed by ${pct(Math.abs(v.none2.vsNone.throughputLost))} in throughput and ${signedUs(Math.abs(v.none2.vsNone.p99AddedUs)).replace('+', '')} in p99, so smaller differences are noise):`,
    '',
    ...rows.map((r) => `- ${r}`),
    '',
    `Targets for Zibrato: ≤ 1 % throughput lost and ≤ 5 µs p99 added, ahead of every peer.${out.quick ? ' From the quick run: indicative only.' : ''} Figures from a busy shared machine are provisional. Method, correctness checks (every system\'s request count against what the load generator completed), a CPU profile and the command to reproduce: [docs/performance.md](docs/performance.md#headline-the-observer-effect-on-a-real-service).`,
    README_END,
  );
  return L.join('\n');
}

/** Replaces the generated Overhead block of `readme` (text), if it has one. */
export function withReadmeOverhead(readme, app, out) {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) return readme;
  return readme.slice(0, a) + renderReadmeOverhead(app, out) + readme.slice(b + README_END.length);
}
