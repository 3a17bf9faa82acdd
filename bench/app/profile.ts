// Summarises a V8 CPU profile (`node --cpu-prof`) of the service: self time per
// function and per layer, so a missed target names what limits it.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Which part of the process a function belongs to. */
export type Layer = 'zibrato' | 'zeromq' | 'fastify' | 'app' | 'node' | 'gc' | 'program' | 'idle' | 'other';

export interface ProfileFunction {
  name: string;
  where: string;
  layer: Layer;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  /** Whether only the samples inside the requested window were counted (false: the window missed the profile, all were). */
  windowed: boolean;
  sampledMs: number;
  busyMs: number;
  /** Self time per layer, ms. */
  layers: Record<string, number>;
  /** Top functions by self time over the busy time. */
  top: ProfileFunction[];
  /** Top functions of the Zibrato client (dist/) and zeromq. */
  topInstrumentation: ProfileFunction[];
}

function layerOf(f: CallFrame): Layer {
  const u = f.url;
  if (f.functionName === '(idle)') return 'idle';
  if (f.functionName === '(garbage collector)') return 'gc';
  if (f.functionName === '(program)' || f.functionName === '(root)') return 'program';
  if (u.includes('/node_modules/zeromq/')) return 'zeromq';
  if (u.includes('/dist/') && !u.includes('/node_modules/')) return 'zibrato';
  if (u.includes('/node_modules/fastify') || u.includes('/node_modules/find-my-way') || u.includes('/node_modules/light-my-request') || u.includes('/node_modules/avvio') || u.includes('/node_modules/fast-json-stringify') || u.includes('/node_modules/@fastify/')) return 'fastify';
  if (u.includes('/bench/app/')) return 'app';
  if (u.startsWith('node:') || u === '') return 'node';
  return 'other';
}

/**
 * Self time per function and per layer of the profile in `file`, counting only the
 * samples taken within `window` (CLOCK_MONOTONIC µs, the profile's own timestamps) if given.
 */
export function summariseProfile(file: string, topN = 15, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const windowed = window !== undefined && window.fromUs < p.endTime && window.toUs > p.startTime;
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    const delta = p.timeDeltas[i] ?? 0;
    t += delta;
    if (windowed && (t < window.fromUs || t > window.toUs)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const fns = new Map<string, { name: string; where: string; layer: Layer; us: number }>();
  const layers: Record<string, number> = {};
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)?.callFrame;
    if (!f) continue;
    totalUs += us;
    const layer = layerOf(f);
    layers[layer] = (layers[layer] ?? 0) + us / 1000;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules\/|dist\/|bench\/)/, '$1')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName}@${where}`;
    const e = fns.get(key) ?? { name: f.functionName || '(anonymous)', where, layer, us: 0 };
    e.us += us;
    fns.set(key, e);
  }
  const busyMs = (totalUs / 1000) - (layers.idle ?? 0);
  const list = [...fns.values()].filter((f) => f.layer !== 'idle').sort((a, b) => b.us - a.us);
  const out = (f: { name: string; where: string; layer: Layer; us: number }): ProfileFunction => ({ name: f.name, where: f.where, layer: f.layer, selfMs: f.us / 1000, share: busyMs > 0 ? f.us / 1000 / busyMs : 0 });
  return {
    windowed,
    sampledMs: totalUs / 1000,
    busyMs,
    layers,
    top: list.slice(0, topN).map(out),
    topInstrumentation: list.filter((f) => f.layer === 'zibrato' || f.layer === 'zeromq').slice(0, topN).map(out),
  };
}
