export * from './constants.js';
export * from './topic.js';
export * from './series-encoding.js';
export * from './batch-writer.js';
export * from './batch-decoder.js';
export * from './legacy-text.js';
export * from './set-member.js';
export * from './socket-options.js';
