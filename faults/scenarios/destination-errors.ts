import { destinationScenario } from '../../test/helpers/peers/destinations.js';
import { silentlyLost, type Scenario } from '../scenario.js';

const scenario: Scenario = {
  name: 'destination-errors',
  description: 'Each HTTP destination (Prometheus remote write behind a forcing proxy, OTLP, Librato) answers 400, then 429 and 503 with Retry-After: 1, then recovers (Carbon and StatsD have no error answers).',
  async run({ quick }) {
    const r = await destinationScenario(
      {
        // Repeated in the full run: one round per 10 s of the fault window.
        begin: async (d) =>
          d.force(
            Array.from({ length: quick ? 1 : 6 }, () => [
              { status: 400 },
              { status: 429, headers: { 'Retry-After': '1' } },
              { status: 503, headers: { 'Retry-After': '1' } },
            ]).flat(),
          ),
        end: async () => undefined,
      },
      { quick, httpOnly: true, faultMs: quick ? 2_000 : 60_000 },
    );
    return { ...r, silentlyLost: silentlyLost(r.made, r.received, r.counted) };
  },
};

export default scenario;
