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
/** Each variant's name in running text and the targets' rows. */
const SHORT = { none: '(a)', none2: '(a′)', hooks: '(a″)', zibrato: 'Zibrato', prom: 'prom-client', otel: 'OTel', hotshots: 'hot-shots' };

const us = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(1)} µs`);
const ms = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)} ms`);
const signedUs = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : Math.abs(x) >= 1000 ? `${x > 0 ? '+' : '−'}${(Math.abs(x) / 1000).toFixed(2)} ms` : `${x > 0 ? '+' : '−'}${Math.abs(x).toFixed(0)} µs`);
export const signedPct = (x) => (x == null || !Number.isFinite(x) ? 'n/a' : `${x > 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} %`);
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
  // A run without the contention record predates the fixed pacing (both landed together, 2026-12-01).
  if (!app.contention) {
    L.push(
      "**Measured before two fixes to this benchmark (2026-12-01).** The fixed-rate load came in bursts: autocannon reads a connection's rate of 0 as \"no limit\", so a connection on schedule sent back to back until the next tick, and arrivals per 250 ms swung between 800/s and 6,400/s around the 2,000/s asked. A request costs the service less when requests come in bursts (one service: 97 µs at 1,000/s, 56 µs at 4,000/s), so the fixed-rate figures below (CPU per request, latency) carry noise of the load's own, and which variant it favoured is not known. The host's slow spells were not set aside either. `node bench/run.js --only app --merge` replaces them.",
      '',
    );
  }
  const c = app.config;
  const v = app.variants;
  const z = v.zibrato;
  const a2 = v.none2;
  L.push(
    `A fastify service (one JSON route, one route with a ${c.dbWaitMs} ms async "database" wait) instrumented five ways with **the same four measurements per request**: a timer tagged with \`route\`, \`method\`, \`status\`; a request counter; an in-flight gauge; a per-user counter whose tag takes ${int(c.users)} distinct values. autocannon, in its own process, drives it at a fixed **${int(c.fixedRate)} requests/s** (${int(c.fixedRequests)} requests, ${c.connections} connections${app.contention ? `, each paced to one request every ${int((1000 * c.connections) / c.fixedRate)} ms and never ahead of that schedule, so the service sees the same even arrivals in every round: it costs less per request when requests come in bursts` : ''}) for CPU per request and latency, then at **saturation**${app.saturationQuota?.share !== undefined ? ` of the service held to ${pct(app.saturationQuota.share)} of a core (below)` : ''} (${c.saturationConnections} connections; ${int(c.saturationRequests)} requests in round 1${c.saturationSeconds ? `, then about ${c.saturationSeconds} s worth at the rate the variant reached before, ${int(c.saturationRequestsMin)}–${int(c.saturationRequests)}` : ''}) for requests/s. Each of ${c.rounds} rounds starts a fresh service per variant, walks ${c.warmupRequests >= c.users ? `all ${int(c.users)} user ids` : `${int(c.warmupRequests)} of the ${int(c.users)} user ids`} once (${int(c.warmupRequests)} requests) before measuring, and runs the variants interleaved${c.rotateOrder ? ', in an order that turns by one variant each round (each takes every place in turn: a place in the order would be a bias that pairing cannot cancel)' : ", in the same order every round ((a) first, right after the previous round's hot-shots)"}; figures are **medians over rounds**; each comparison with (a) is ${v.none?.paired ? "**the median of the per-round comparisons with the same round's (a)** (paired: what the machine's load did to a round cancels out), the table's absolute columns are medians over rounds" : 'the ratio of the medians'}. ${roundsNote(app)} CPU is the service process's user + system time (every thread, \`process.cpuUsage()\`); latency is autocannon's per-response time, percentiles computed exactly over every response.${pinNote(app.pinning)}`,
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
  const noiseCpu = Math.abs(a2.vsNone.cpuAdded);
  const noiseTp = Math.abs(a2.vsNone.throughputLost);
  const noiseP99 = p99NoiseUs(v);
  const noise = noiseSpread(a2.paired);
  L.push(
    `**Noise floor.** (a′) is the same service as (a): they differ by ${pct(noiseCpu)} in CPU per request, ${pct(noiseTp)} in saturation throughput and ${signedUs(noiseP99).replace('+', '')} in p99 (target: within 2 %: ${agreementVerdict(noiseCpu, noiseTp, noise)}).${a2.paired ? ` Round by round, (a′) against (a): CPU ${roundsOf(a2.paired.cpuAdded, signedPct)}; throughput ${roundsOf(a2.paired.throughputLost, signedPct)}; p99 ${roundsOf(a2.paired.p99AddedUs, signedUs)}.` : ''} A difference smaller than these is not a measured difference.${roundsFor2Pct(noise, app.seconds)}${machineSteadiness(app.steadinessNs, noise)}${contentionNote(app.contention)}`,
    '',
  );
  if (a2.paired) L.push(...renderResolvable(v, a2.paired.cpuAdded.rounds.length));
  if (z.paired) L.push(...renderWhatARequestPays(app));

  // Targets.
  const tpLost = z.vsNone.throughputLost;
  const p99Added = z.vsNone.p99AddedUs;
  const peersOk = (f) => PEERS.every((p) => v[p] && f(z) <= f(v[p]));
  const aheadTp = peersOk((x) => x.vsNone.throughputLost);
  const aheadP99 = peersOk((x) => x.vsNone.p99AddedUs);
  const aheadCpu = peersOk((x) => x.vsNone.cpuAdded);
  const verdict = (ok) => (ok ? '**met**' : '**missed**');
  const aheadTpRounds = aheadVerdict(v, 'throughputLost', signedPct);
  const aheadP99Rounds = aheadVerdict(v, 'p99AddedUs', signedUs);
  L.push(
    '| target (Zibrato) | measured | verdict |',
    '|---|---|---|',
    `| ≤ 1 % throughput lost at saturation | ${signedPct(tpLost)} | ${verdict(tpLost <= 0.01)} |`,
    `| ≤ 5 µs added to p99 at the fixed rate | ${signedUs(p99Added)} | ${{ met: '**met**', missed: noiseP99 > 5 ? `**missed**: more than 5 µs beyond the noise floor (${signedUs(noiseP99).replace('+', '')}), and resolved` : '**missed**', 'not resolvable': `**not resolvable here**: the noise floor is ${signedUs(noiseP99).replace('+', '')}, so neither a met nor a missed 5 µs can be shown on this machine` }[p99TargetVerdict(v)]} |`,
    `| ahead of every peer on throughput lost | Zibrato ${signedPct(tpLost)}; ${PEERS.map((p) => `${SHORT[p]} ${signedPct(v[p]?.vsNone.throughputLost)}`).join('; ')}. Head to head, round by round: ${aheadTpRounds.detail} | ${aheadTpRounds.verdict} (medians: ${aheadTp ? 'ahead' : 'behind'}) |`,
    `| ahead of every peer on p99 added | Zibrato ${signedUs(p99Added)}; ${PEERS.map((p) => `${SHORT[p]} ${signedUs(v[p]?.vsNone.p99AddedUs)}`).join('; ')}. Head to head, round by round: ${aheadP99Rounds.detail} | ${aheadP99Rounds.verdict} (medians: ${aheadP99 ? 'ahead' : 'behind'}) |`,
    ...(z.pairedVsHooks
      ? [
          `| the library alone, over (a″) the same hooks recording nothing: throughput lost | Zibrato ${signedPct(z.pairedVsHooks.throughputLost.median)}; ${PEERS.map((p) => `${SHORT[p]} ${signedPct(v[p]?.pairedVsHooks?.throughputLost.median)}`).join('; ')} | ${verdict(z.pairedVsHooks.throughputLost.median <= 0.01)} (≤ 1 %) |`,
          `| the library alone, over (a″): CPU per request added | Zibrato ${signedUs1(z.pairedVsHooks.cpuAddedUs.median)}; ${PEERS.map((p) => `${SHORT[p]} ${signedUs1(v[p]?.pairedVsHooks?.cpuAddedUs.median)}`).join('; ')} | ${PEERS.every((p) => v[p]?.pairedVsHooks && z.pairedVsHooks.cpuAddedUs.median <= v[p].pairedVsHooks.cpuAddedUs.median) ? 'lowest' : 'not the lowest'} |`,
        ]
      : []),
    `| CPU per request added (reported, no target) | Zibrato ${signedPct(z.vsNone.cpuAdded)}; ${PEERS.map((p) => `${SHORT[p]} ${signedPct(v[p]?.vsNone.cpuAdded)}`).join('; ')} | ${aheadCpu ? 'lowest' : 'not the lowest'} |`,
    '',
  );

  // Correctness.
  const lossy = Object.entries(v).filter(([, x]) => x.counts.lost > 0);
  L.push(
    `**Correctness, same run.** Each system's request counter is read where it lands — Zibrato: the file backend's flushed totals; prom-client: a Prometheus query of \`app_requests_total\`; OTel: the last cumulative value the OTLP receiver decoded; hot-shots: the counters statsd flushed — and compared with what autocannon completed (warm-up, fixed rate and saturation). ${lossy.length ? `Lost: ${lossy.map(([k, x]) => `${LABELS[k].replace(/\*\*/g, '').replace(/^\([a-e′]+\) /, '')} ${int(x.counts.lost)} of ${int(x.counts.completed)} (${pct(x.counts.lost / x.counts.completed)})`).join('; ')}${v.hotshots?.counts.lost > 0 ? '. hot-shots sends one UDP datagram per measurement (four per request); at saturation the single-threaded statsd daemon falls behind and the kernel drops datagrams that nobody counts' : ''}.` : 'Every system counted every request.'} HTTP errors: ${Object.entries(v).map(([k, x]) => `${k} ${int(x.counts.errors)}`).join(', ')}.`,
    '',
  );
  if (z.clientStats) L.push(`Zibrato client \`stats()\` summed over the rounds: ${Object.entries(z.clientStats).map(([k, n]) => `${k} ${int(n)}`).join(', ')}.`, '');

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
  if (app.saturationProfile) L.push(...renderSaturationProfile(app));
  const merged = out.merged?.app;
  L.push(
    `${merged ? (app.pooled ? `This section pools runs made on ${app.pooled.map((r) => minuteUtc(r.date)).join(' and ')} UTC (${Math.round(merged.seconds)} s of runs in all), after the rest of this document, by \`${merged.command}\`. ` : `This section was measured on ${minuteUtc(merged.date)} UTC by \`${merged.command}\` (${Math.round(merged.seconds)} s), after the rest of this document. `) : ''}Reproduce: \`npm run build && node bench/run.js --only app --merge\` (this benchmark alone, ~${Math.max(1, Math.round((app.seconds ?? 0) / 60))} min${app.roundsStop ? `: it adds rounds until its noise floor is known, for at most ${app.config.maxMinutes} min; \`ZIBRATO_BENCH_APP_ROUNDS=10\` fixes the count, \`ZIBRATO_BENCH_APP_MINUTES\` the limit` : ''}; its results replace this section; \`npm run bench\` runs it with the rest).${out.quick ? ' These figures come from the **quick** run (fewer, shorter rounds): indicative only.' : ''} The machine is shared (see [Machine](#machine)): figures from a busy machine are provisional; the ratios in one run are what compare.`,
    '',
  );
  return L;
}

const NAMES = { zibrato: 'Zibrato', prom: 'prom-client', otel: 'OTel', hotshots: 'hot-shots', none2: '(a′)', hooks: '(a″) hooks only' };
/** Where each system's work runs outside the service, and so whose CPU "moved out" counts. */
const MOVED_TO = {
  zibrato: '`zibrato up` + its broker and file backend',
  prom: 'Prometheus (scrape and TSDB; rendering `/metrics` is in the service)',
  otel: 'the OTLP receiver (decoding every export)',
  hotshots: 'the statsd daemon',
};

/** "+1.0 %, −0.4 % … (5 of 6 rounds +)": each round's paired comparison. */
function roundsOf(p, fmt) {
  if (!p?.rounds?.length) return 'n/a';
  return `${p.rounds.map(fmt).join(', ')}`;
}

function pinNote(pinning) {
  if (!pinning) return '';
  if (pinning.unpinned) return ` The service was **not** pinned to a CPU (${pinning.unpinned}).`;
  return ` The service runs alone on CPU ${pinning.serviceCpus} (\`taskset\`); autocannon and every peer (\`zibrato up\` and its children, Prometheus, statsd, the OTLP receiver) run on CPU ${pinning.othersCpus}, so their work lands neither in the service's CPU time nor in its latency — and is reported below as CPU moved out of the service, so nothing is hidden.`;
}

/** Fewest rounds whose all-alike signs mean something: 5 of 5 alike happens by chance 6 % of the time, 6 of 6 3 % (a two-sided sign test). */
export const MIN_ROUNDS_TO_RESOLVE = 5;

/**
 * The two-sided sign test: the chance that at least `alike` of `n` rounds share
 * a sign when the difference is really nothing (each round's sign a coin toss).
 */
export function signTestP(alike, n) {
  let tail = 0;
  let ways = 1; // n choose k, from k = 0
  for (let k = 0; k <= n; k++) {
    if (k >= alike) tail += ways;
    ways = (ways * (n - k)) / (k + 1);
  }
  return Math.min(1, (2 * tail) / 2 ** n);
}

/**
 * How unlikely by chance the rounds' signs must be: as unlikely as all alike
 * over {@link MIN_ROUNDS_TO_RESOLVE} rounds (1/16). With 5 to 8 rounds that
 * still means every round alike; with 10, one round of the other sign is
 * allowed (9 of 10 alike: 2 %), so a longer run is not held back by one wild round.
 */
export const MAX_SIGN_TEST_P = signTestP(MIN_ROUNDS_TO_RESOLVE, MIN_ROUNDS_TO_RESOLVE);

/**
 * Whether a difference with (a) is measured: larger than (a′)'s difference for
 * the same measure, over at least {@link MIN_ROUNDS_TO_RESOLVE} rounds, with
 * rounds of its sign no more likely by chance than {@link MAX_SIGN_TEST_P}.
 */
export function resolvable(p, noise) {
  const n = p?.rounds?.length ?? 0;
  if (!p || !Number.isFinite(p.median) || n < MIN_ROUNDS_TO_RESOLVE) return false;
  return Math.abs(p.median) > Math.abs(noise) && signTestP(p.sameSign, n) <= MAX_SIGN_TEST_P;
}

/** The p99 noise floor: what (a′), identical to (a), adds to p99 (its magnitude), the yardstick of the 5 µs target. */
function p99NoiseUs(v) {
  return Math.abs(v.none2.vsNone.p99AddedUs);
}

/**
 * The ≤ 5 µs p99 target: missed when Zibrato's p99 added exceeds 5 µs by more
 * than (a′)'s noise and the difference is resolved round by round; otherwise
 * not resolvable while the noise floor is above 5 µs; otherwise met or missed
 * by the median.
 */
export function p99TargetVerdict(v) {
  const noise = p99NoiseUs(v);
  const added = v.zibrato.vsNone.p99AddedUs;
  const p = v.zibrato.paired?.p99AddedUs;
  if (added - 5 > noise && (!p || resolvable(p, v.none2.paired?.p99AddedUs.median ?? noise))) return 'missed';
  if (noise > 5) return 'not resolvable';
  return added <= 5 ? 'met' : 'missed';
}

/**
 * Where the Zibrato service's main thread goes at saturation (the throughput
 * target's phase), per request, against what 1 % of (a)'s CPU per request
 * there comes to.
 */
function renderSaturationProfile(app) {
  const p = app.saturationProfile;
  const a = app.variants.none?.median;
  // The profile gives shares; the main thread's CPU per request comes from the scheduler (see main.ts).
  const perReq = (msTotal) => (msTotal / (p.busyMs || 1)) * p.mainCpuUsPerRequest;
  const zMs = (p.layers.zibrato ?? 0) + (p.layers.zeromq ?? 0);
  // (a)'s CPU per request at saturation: the share of a core it used over the requests per second it served.
  const aUs = a && a.saturationRps > 0 && Number.isFinite(a.saturationProcessBusy) ? (a.saturationProcessBusy / a.saturationRps) * 1e6 : NaN;
  const budget = aUs / 100;
  const libTp = app.variants.zibrato?.pairedVsHooks?.throughputLost.median;
  // Throughput lost as CPU per request: serving 1 − x of the requests on the same CPU costs 1 / (1 − x) as much each.
  const libUs = Number.isFinite(libTp) && Number.isFinite(aUs) && libTp > 0 ? aUs * (1 / (1 - libTp) - 1) : undefined;
  return [
    `**The same profile at saturation**, where the throughput target is judged (the same round's saturation phase, the service at its quota; the profiler's sampling thread counts against that quota, so this round serves fewer requests than the others; shares from the profile, CPU from the scheduler): ${int(p.requests)} requests, the main thread on CPU **${us(p.mainCpuUsPerRequest)} per request**. The Zibrato client and zeromq take ${pct(zMs / (p.busyMs || 1))} of it: **${us(perReq(zMs))} per request**. 1 % of throughput is 1 % of what (a) spends per request at saturation (${us(aUs)}: its share of a core over its requests/s), **${Number.isFinite(budget) ? `${budget.toFixed(2)} µs` : 'n/a'}**: ${Number.isFinite(budget) && perReq(zMs) > budget ? `the client's own functions cost ${(perReq(zMs) / budget).toFixed(0)}× that, before the fastify hooks it needs, so ≤ 1 % is out of reach until the client is that much cheaper per request in a running service` : 'within it'}.${libUs !== undefined ? ` Measured at saturation, Zibrato over (a″) loses ${signedPct(libTp)} of throughput, about ${us(libUs)} per request at (a)'s cost: the client's own functions are ${pct(perReq(zMs) / libUs)} of that; the rest is not in them (the GC of the options objects every call passes, and the service's own code running slower beside the client's memory traffic are the likely shares; a sampling profile does not attribute them).` : ''} Layers: ${['zibrato', 'zeromq', 'fastify', 'node', 'gc', 'program', 'other', 'app'].map((k) => `${k} ${pct((p.layers[k] ?? 0) / (p.busyMs || 1))}`).join(', ')}.`,
    '',
    '| function (Zibrato client and zeromq), at saturation | where | per request | share of busy |',
    '|---|---|---|---|',
    ...p.topInstrumentation.slice(0, 8).map((f) => `| \`${f.name}\` | ${f.where} | ${(perReq(f.selfMs) * 1000).toFixed(0)} ns | ${pct(f.share)} |`),
    '',
  ];
}

/** The median (bench/lib/common.mjs has one too, but it loads zeromq: this renderer stays free of dependencies). */
const medianOfList = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Zibrato against one peer, round by round: the difference of their comparisons
 * with the same round's (a) (positive: Zibrato costs more), in the shape of a
 * paired comparison so {@link resolvable} judges it by the same rule.
 */
function headToHead(z, peer, k) {
  const zr = z.paired?.[k]?.rounds;
  const pr = peer?.paired?.[k]?.rounds;
  if (!zr || !pr || zr.length !== pr.length) return undefined;
  const rounds = zr.map((x, i) => x - pr[i]);
  const m = medianOfList(rounds);
  return { median: m, rounds, sameSign: rounds.filter((x) => Math.sign(x) === Math.sign(m) && x !== 0).length };
}

/**
 * The "ahead of every peer" verdict on measure `k`, with how far each
 * head-to-head difference is resolved: a lead or a lag inside (a′)'s noise is
 * not a measured one, whatever the medians say.
 */
function aheadVerdict(v, k, fmt) {
  const noise = v.none2?.paired?.[k]?.median;
  const parts = [];
  let behindResolved = false;
  let allAheadResolved = true;
  for (const p of PEERS) {
    const h = headToHead(v.zibrato, v[p], k);
    if (!h) return { detail: 'n/a', verdict: 'n/a' };
    const ok = resolvable(h, noise);
    if (h.median > 0 && ok) behindResolved = true;
    if (!(h.median < 0 && ok)) allAheadResolved = false;
    parts.push(`${h.median <= 0 ? 'ahead of' : 'behind'} ${SHORT[p]} by ${fmt(Math.abs(h.median)).replace('+', '')} (${h.sameSign}/${h.rounds.length} rounds alike, ${ok ? 'resolved' : 'within noise'})`);
  }
  const verdict = allAheadResolved ? '**met**' : behindResolved ? '**missed**' : '**not resolved**: no lag behind a peer is larger than the noise, and not every lead is';
  return { detail: parts.join('; '), verdict };
}

/** σ estimated from the median absolute deviation: one round gone wild does not set it. */
function robustSigma(xs) {
  const m = medianOfList(xs);
  return 1.4826 * medianOfList(xs.map((x) => Math.abs(x - m)));
}

/**
 * How the run chose its number of rounds (bench/app/rounds.ts): empty for
 * results from before it added rounds until the noise floor was known.
 */
export function roundsNote(app) {
  const c = app.config;
  // Runs from before ROUNDS_PRECISION stopped at the 2 % bar itself.
  const precision = pct(app.roundsPrecision ?? AGREEMENT);
  const rule = `the run adds rounds, at least ${c.minRounds}, until (a′) against (a) is known to ±${precision} in CPU per request and in throughput (the median of n rounds is uncertain by about 1.25 σ / √n, σ from the rounds themselves)${app.roundsPrecision ? ', half the 2 % bar, so that an agreement within 2 % is measured, not luck' : ''}`;
  switch (app.roundsStop) {
    case 'noise floor resolved':
      return `How many rounds: ${rule}; it took **${c.rounds}**.`;
    case 'round limit':
      return `How many rounds: ${rule}, up to ${c.maxRounds}; it stopped at that limit, **before the noise floor was known to ±${precision}**.`;
    case 'time limit':
      return `How many rounds: ${rule}, for at most ${c.maxMinutes} min; it stopped at that limit after ${c.rounds} rounds, **before the noise floor was known to ±${precision}**.`;
    case 'pooled':
      return `How many rounds: ${rule}. No one run here reaches that in the time a session gives it, so this section **pools the rounds of ${app.pooled.length} runs**, each measured the same way (every setting that shapes a measurement checked equal: \`bench/app/pool.ts\`): ${app.pooled.map((r) => `${minuteUtc(r.date)} UTC, ${r.rounds} rounds${r.roundsStop === 'time limit' ? ' (stopped at its time limit)' : ''}`).join('; ')}; **${c.rounds} rounds** in all. Each round is a paired sample on its own (every variant against the same round's (a)), so the rounds of another day add to the sample as more rounds of one run would.`;
    case 'fixed':
      return `How many rounds: ${c.rounds}, fixed (${c.minRounds === c.maxRounds ? 'the quick run' : 'ZIBRATO_BENCH_APP_ROUNDS'}), not until the noise floor was known.`;
    default:
      return '';
  }
}

/** An ISO date to the minute, as the report prints it: 2026-12-01 07:29. */
const minuteUtc = (iso) => iso.slice(0, 16).replace('T', ' ');

/** The issue's bar for two identical services: within 2 %, and each median known to within 2 %. */
export const AGREEMENT = 0.02;

/** How well the run pins (a′) against (a) before it stops adding rounds: see {@link noiseFloorResolved}. */
export const ROUNDS_PRECISION = AGREEMENT / 2;

/**
 * How far (a′) against (a) moves round to round, per measure: σ from the
 * median absolute deviation, and the uncertainty of the median of the run's n
 * rounds (about 1.25 σ / √n). Undefined without per-round figures. `a2` is
 * (a′)'s paired comparisons with (a): `cpuAdded.rounds` and `throughputLost.rounds`.
 */
export function noiseSpread(a2) {
  if (!a2 || a2.cpuAdded.rounds.length < 3) return undefined;
  const of = (xs) => {
    const sigma = robustSigma(xs);
    return { sigma, medianError: (1.2533 * sigma) / Math.sqrt(xs.length), roundsFor2Pct: Math.ceil(((1.2533 * sigma) / AGREEMENT) ** 2) };
  };
  return { rounds: a2.cpuAdded.rounds.length, cpu: of(a2.cpuAdded.rounds), throughput: of(a2.throughputLost.rounds) };
}

/**
 * True once the rounds so far pin both of (a′)'s medians against (a) down to
 * ±1 % ({@link ROUNDS_PRECISION}): when bench/app/main.ts may stop adding
 * rounds. Half the 2 % bar, so that two identical services found within 2 %
 * of each other are so by measurement, not by luck (at ±2 %, a median that is
 * truly 0 still lands outside 2 % about one run in five). It looks at the spread
 * only, never at how far apart the two medians are, so stopping here cannot
 * pick a moment when they happen to agree.
 */
export function noiseFloorResolved(a2) {
  const noise = noiseSpread(a2);
  return noise !== undefined && looseMeasures(noise, ROUNDS_PRECISION).length === 0;
}

const MEASURES = { cpu: 'CPU per request', throughput: 'throughput' };

/** The measures whose median (a′) against (a) is more uncertain than `within` (by default the 2 % bar). */
function looseMeasures(noise, within = AGREEMENT) {
  return Object.keys(MEASURES).filter((k) => noise[k].medianError > within);
}

/**
 * The 2 % agreement of (a′) with (a): met only when both medians agree and
 * neither median is uncertain by more than 2 %; medians that agree while one
 * is that uncertain agree by chance, and the verdict says which.
 */
function agreementVerdict(cpu, throughput, noise) {
  if (cpu > AGREEMENT || throughput > AGREEMENT) return '**missed** — this run is too noisy to resolve differences of that size';
  const loose = noise ? looseMeasures(noise) : [];
  if (!loose.length) return '**met**';
  return `**met in this run, by chance for ${loose.map((k) => MEASURES[k]).join(' and ')}**: ${loose.map((k) => `the median of ${MEASURES[k]} over ${noise.rounds} rounds is uncertain by ±${pct(noise[k].medianError)}`).join('; ')}`;
}

/** How many rounds agreement within 2 % would take, for each measure whose median is more uncertain than that. */
function roundsFor2Pct(noise, seconds) {
  if (!noise) return '';
  const loose = looseMeasures(noise);
  const spread = `σ (from the median absolute deviation) is ${pct(noise.cpu.sigma)} for CPU per request and ${pct(noise.throughput.sigma)} for throughput; the median of n rounds is uncertain by about 1.25 σ / √n`;
  if (!loose.length) return ` Round to round, ${spread}: ±${pct(noise.cpu.medianError)} and ±${pct(noise.throughput.medianError)} over these ${noise.rounds} rounds.`;
  const perRound = seconds / noise.rounds;
  const n = Math.max(...loose.map((k) => noise[k].roundsFor2Pct));
  return ` Round to round, ${spread}, so a reliable 2 % for ${loose.map((k) => MEASURES[k]).join(' and ')} would take about **${int(n)} rounds**${perRound > 0 ? `, about ${((n * perRound) / 3600).toFixed(1)} h at this run's ${Math.round(perRound)} s per round` : ''}.`;
}

/**
 * What the machine alone did to CPU time over the run (the same fixed work
 * timed before every service start, bench/app/steadiness.ts), against how much
 * each measure moved: a measure that moves far more than the machine does is
 * noisy by itself, not because of the machine.
 */
function machineSteadiness(samples, noise) {
  const xs = (samples ?? []).filter(Number.isFinite);
  if (xs.length < 3) return '';
  const m = medianOfList(xs);
  const rel = robustSigma(xs) / m;
  const against = noise
    ? Object.entries(MEASURES)
        .map(([k, name]) => {
          const times = noise[k].sigma / rel;
          return `${name} moved ${pct(noise[k].sigma)}, ${times >= 2 ? `${times.toFixed(1)}× the machine's: more than the machine's speed explains, so the measure's own or load that the probe, run before each start, did not meet${k === 'cpu' ? ' (likely: at 2,000 requests a second the service is idle most of the time, and what a request costs depends on how the requests happen to arrive)' : ''}` : "about the machine's own"}`;
        })
        .join('; ')
    : '';
  return ` **The machine itself:** the same fixed work (\`bench/app/steadiness.ts\`: lookups among 10,000 entries and JSON, no I/O), timed in CPU time on the service's CPU before each of the run's ${xs.length} service starts, took ${m.toFixed(0)} ns a unit, σ ${pct(rel)} (${pct(Math.min(...xs) / m - 1).replace(/^-/, '−')} to +${pct(Math.max(...xs) / m - 1)} of the median).${against ? ` Against it, round to round: ${against}.` : ''}`;
}

/**
 * How many measurements were set aside because the machine was slow meanwhile
 * (bench/app/contention.ts): the rule, and what it did this run.
 */
export function contentionNote(c) {
  if (!c) return '';
  const redone = c.remeasured.length;
  const probe = "a contention probe (\`bench/app/contention-probe.ts\`: 0.5 ms of the same kind of work every 100 ms, in CPU time, at idle priority on the service's CPU, for the whole run) tracks the host's slow spells, which moved a variant's CPU per request by up to 2×";
  if (c.maxRemeasures === 0) return ` **Slow spells:** ${probe}. This run measured each variant once and only recorded the probe: ${int(c.keptContended)} of ${int(c.measurements)} measurements were made in a spell (more than ${pct(c.limit)} slower than usual); a full run measures those again.`;
  const kept = c.keptContended > 0 ? ` ${int(c.keptContended)} still slow after ${c.maxRemeasures} more ${c.maxRemeasures === 1 ? 'try' : 'tries'} were kept as measured.` : '';
  return ` **Slow spells set aside:** ${probe}; a variant whose fixed-rate or saturation window the probe found more than ${pct(c.limit)} slower than usual (the lower quarter of its windows of the same phase over the run: ${c.usualNsPerUnit.fixed.toFixed(0)} ns a unit at the fixed rate, ${c.usualNsPerUnit.saturation.toFixed(0)} ns at saturation) was measured again, at most ${c.maxRemeasures} more times, judged by the probe alone. ${int(redone)} of ${int(c.measurements)} measurements were set aside.${kept}`;
}

/** The fewest of `n` rounds that must share a sign for {@link resolvable}. */
export function alikeNeeded(n) {
  for (let k = Math.ceil(n / 2); k <= n; k++) if (signTestP(k, n) <= MAX_SIGN_TEST_P) return k;
  return n + 1;
}

/** The fewest rounds from which {@link resolvable} lets one round go the other way. */
function roundsToleratingOne() {
  let n = MIN_ROUNDS_TO_RESOLVE;
  while (alikeNeeded(n) === n) n++;
  return n;
}

function renderResolvable(v, rounds) {
  const a2 = v.none2.paired;
  const cell = (x, k, fmt) => {
    const p = x.paired?.[k];
    if (!p) return 'n/a';
    return `${fmt(p.median)} (${p.sameSign}/${p.rounds.length} rounds alike) ${resolvable(p, a2[k].median) ? '**resolved**' : rounds < MIN_ROUNDS_TO_RESOLVE ? 'too few rounds' : 'within noise'}`;
  };
  const L = [
    `**Which differences are resolved.** A difference with (a) counts as measured when it is larger than (a′)'s for the same measure and ${rounds >= MIN_ROUNDS_TO_RESOLVE ? `has the same sign in at least ${alikeNeeded(rounds)} of this run's ${rounds} rounds` : `has the same sign in enough rounds (this run's ${rounds} are too few)`}: a two-sided sign test, a split no more likely by chance than ${MIN_ROUNDS_TO_RESOLVE} of ${MIN_ROUNDS_TO_RESOLVE} alike (${pct(MAX_SIGN_TEST_P)}), so fewer than ${MIN_ROUNDS_TO_RESOLVE} rounds resolve nothing and from ${roundsToleratingOne()} rounds one round may go the other way.`,
    '',
    '| variant | CPU / request added | throughput lost | p99 added |',
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
    `CPU per request at the fixed rate, paired with the same round's (a) and taken as the median over rounds. In the service: by thread, from the scheduler's nanosecond counters (\`/proc/<pid>/task/*/schedstat\`). Moved out: the CPU of the processes that take the system's work off the service over the same fixed-rate window, less what they burn idle (the median, over the same round's windows of the other variants, of the same processes' CPU per second, times this window's length). (a) itself uses ${us(a.median.cpuUsPerRequest)} per request (main thread ${us(a.median.threadCpuUsPerRequest.main)}, other threads ${us(a.median.threadCpuUsPerRequest.other)}).`,
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
    `**What limits the 1 % / 5 µs targets on this machine.** At saturation the service is bound by its main thread, which spends ${us(baseMain)} per request uninstrumented (${us(baseUs)} with the other threads): 1 % of throughput is **${onePctUs.toFixed(2)} µs of main-thread CPU per request**. Zibrato adds ${signedUs1(z.mainAddedUs.median)} there (${signedPct(impliedLoss)} of the main thread's work, the throughput loss that cost alone predicts; measured at saturation: ${signedPct(z.throughputLost.median)}, against a noise floor of ${pct(Math.abs(a2.throughputLost.median))}). The four measurements per request are five client calls (two gauge sets, a tagged timing, a counter increment, a per-user tagged count, one of ${int(app.config.users)} series); ${app.profile ? `the profile below puts the Zibrato client and zeromq at ${pct(((app.profile.layers.zibrato ?? 0) + (app.profile.layers.zeromq ?? 0)) / (app.profile.busyMs || 1))} of the main thread's busy time` : 'no profile was taken in this run'}. p99 at ${int(app.config.fixedRate)}/s is a queueing figure: Zibrato adds ${signedUs(z.p99AddedUs.median)} against (a′)'s ${signedUs(a2.p99AddedUs.median)} from noise alone${{ met: ': within 5 µs', missed: p99NoiseUs(v) > 5 ? ': the 5 µs target is missed by more than that noise (a difference as small as 5 µs would itself be below what this machine resolves)' : ': the 5 µs target is missed', 'not resolvable': ', so a 5 µs target is **below what this machine resolves**' }[p99TargetVerdict(v)]}.`,
    '',
  );
  const busy = Object.keys(SHORT).filter((k) => Number.isFinite(v[k]?.median.saturationProcessBusy));
  if (busy.length) {
    const q = app.saturationQuota;
    const share = q?.share;
    const atQuota = share !== undefined && busy.every((k) => v[k].median.saturationProcessBusy >= share * 0.9);
    L.push(
      `**Was the service the bottleneck at saturation?** ${share !== undefined ? `During the saturation phase the service is held to ${pct(share)} of a core (a CFS quota, ${q.kind}: bench/app/cpu-quota.ts), because one autocannon process on the other core cannot keep an unlimited fastify service busy (its main thread was on CPU ~30 % of the phase, measured), and requests/s then measured autocannon. ` : `No CPU quota in this run (${q?.unavailable ?? 'not measured'}): `}The service's CPU over the phase, as a share of a core (median over rounds): ${busy.map((k) => `${SHORT[k]} ${pct(v[k].median.saturationProcessBusy)}`).join('; ')}. ${share === undefined ? 'Well under one core, the service was not the bottleneck: requests/s measured the load generator\'s core as much as the service.' : atQuota ? 'Every variant used its quota: the service, not autocannon, limited requests/s, so throughput lost is what each library costs the service\'s CPU.' : 'A variant under its quota was not the bottleneck in every round: its requests/s measured autocannon\'s core as much as the service.'}`,
      '',
    );
  }
  return L;
}

const README_START = '<!-- overhead:start (generated by bench/report.mjs from bench/results/latest.json) -->';
const README_END = '<!-- overhead:end -->';

/** A verdict cell as running text: no bold, and only what comes before its explanation. */
const plain = (verdict) => verdict.replace(/\*\*/g, '').split(':')[0];

/** How far (a′) against (a) moved round to round, for the README: medians that agree can hide rounds that did not. */
function spreadNote(noise) {
  return noise ? ` (medians of ${noise.rounds} rounds; round to round they moved σ ${pct(noise.cpu.sigma)} and ${pct(noise.throughput.sigma)})` : '';
}

/** The README's "Overhead" paragraph: the headline figures in a few lines. */
export function renderReadmeOverhead(app, out) {
  const L = [README_START, '## Overhead', ''];
  if (!app) {
    L.push('See [docs/performance.md](docs/performance.md).', README_END);
    return L.join('\n');
  }
  const v = app.variants;
  const p99Verdict = p99TargetVerdict(v);
  const row = (k, name) => (v[k] ? `${name}: throughput lost ${pct(v[k].vsNone.throughputLost)}, p99 ${signedUs(v[k].vsNone.p99AddedUs)}, CPU per request ${signedPct(v[k].vsNone.cpuAdded)}` : null);
  const rows = [row('zibrato', '**Zibrato**'), row('prom', 'prom-client'), row('otel', 'OpenTelemetry SDK'), row('hotshots', 'hot-shots')].filter(Boolean);
  L.push(
    `What instrumenting every request of a real fastify service costs (a timer tagged with route, method and status, a request counter, an in-flight gauge and a per-user counter over ${int(app.config.users)} users), against the same service uninstrumented, ${app.pooled ? `in ${app.pooled.length} runs pooled (${app.config.rounds} rounds) on one machine (${[...new Set(app.pooled.map((r) => r.date.slice(0, 10)))].join(', ')}` : `in one run on one machine (${out.merged?.app?.date?.slice(0, 10) ?? out.date.slice(0, 10)}`}, ${out.machine.nproc} shared cores; two identical uninstrumented runs differed by ${pct(Math.abs(v.none2.vsNone.cpuAdded))} in CPU per request, ${pct(Math.abs(v.none2.vsNone.throughputLost))} in throughput and ${signedUs(Math.abs(v.none2.vsNone.p99AddedUs)).replace('+', '')} in p99${spreadNote(noiseSpread(v.none2.paired))}, so smaller differences are noise):`,
    '',
    ...rows.map((r) => `- ${r}`),
    '',
    `Targets for Zibrato: ≤ 1 % throughput lost and ≤ 5 µs p99 added, ahead of every peer. In this run: ≤ 1 % throughput ${v.zibrato.vsNone.throughputLost <= 0.01 ? 'met' : 'missed'}; ≤ 5 µs p99 ${p99Verdict === 'not resolvable' ? 'not resolvable on this machine' : p99Verdict}; ahead of every peer on p99 ${plain(aheadVerdict(v, 'p99AddedUs', signedUs).verdict)}; on throughput ${plain(aheadVerdict(v, 'throughputLost', signedPct).verdict)}.${out.quick ? ' From the quick run: indicative only.' : ''} Figures from a busy shared machine are provisional. Method, correctness checks (every system\'s request count against what the load generator completed), a CPU profile and the command to reproduce: [docs/performance.md](docs/performance.md#headline-the-observer-effect-on-a-real-service).`,
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
