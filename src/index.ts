/**
 * Zibrato: cheap in-app metrics over ZeroMQ.
 * The app-side API is {@link Zibrato}; the rest is exported for embedding and tests.
 */
export * from './client/index.js';
export { LEVELS, parseLevels, type Level } from './levels.js';
export { ZibratoError, InvalidOptionError, MalformedFrameError, ERROR_CODES, type ZibratoErrorCode } from './errors.js';
export { Broker, type BrokerOptions, type BrokerStats } from './broker/broker.js';
export { Backend, type BackendOptions, type BackendStatus } from './backend/backend.js';
export type { Sink, SinkStatus, FlushBatch, MetricPoint, CounterPoint, GaugePoint, TimerPoint, SetPoint } from './sinks/sink.js';
export { MemorySink } from './sinks/memory-sink.js';
export { FileSink } from './sinks/file-sink.js';
export { ConsoleSink } from './sinks/console-sink.js';
export * as wire from './wire/index.js';
