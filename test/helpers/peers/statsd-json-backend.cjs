// A StatsD backend for tests: appends what each flush carried to a JSON Lines
// file named by config.zibratoOutFile, so a test can read exactly what arrived.
'use strict';
const fs = require('fs');

exports.init = function (startupTime, config, events, logger) {
  const out = config.zibratoOutFile;
  events.on('flush', function (timestamp, metrics) {
    const row = { timestamp, counters: metrics.counters, gauges: metrics.gauges, timers: metrics.timers, sets: {} };
    for (const k of Object.keys(metrics.sets || {})) row.sets[k] = metrics.sets[k].values();
    fs.appendFileSync(out, JSON.stringify(row) + '\n');
  });
  events.on('status', function (writeCb) {
    writeCb(null, 'zibrato-json', 'ok', 1);
  });
  return true;
};
