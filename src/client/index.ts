export { Zibrato } from './zibrato.js';
export type { MetricOptions, CountOptions, GaugeOptions, TimingOptions, EmitOptions, EmitKind, CounterHandle, GaugeHandle, TimerHandle, ObservableResult, ObservableCallback, Registration } from './zibrato.js';
export type { ZibratoOptions } from './options.js';
export type { ClientStats } from './record-buffer.js';
export { TimerScope, CounterScope } from './scopes.js';
export { type MethodDecorator } from "./decorators.js";
export type { DefaultMetricsOptions } from './default-metrics.js';
