/**
 * `zibrato/backend`: run a backend inside your own process (subscribe to
 * levels, aggregate, flush to a sink), and the sink contract to write one.
 */
export { Backend, type BackendOptions, type BackendStatus } from '../backend/backend.js';
export type { Sink, SinkStatus, FlushBatch, MetricPoint, CounterPoint, GaugePoint, TimerPoint, SetPoint } from '../sinks/sink.js';
export { MemorySink } from '../sinks/memory-sink.js';
export { FileSink } from '../sinks/file-sink.js';
export { ConsoleSink } from '../sinks/console-sink.js';
export { parseLevels, LEVELS, type Level } from '../levels.js';
export { MalformedFrameError } from '../errors.js';
