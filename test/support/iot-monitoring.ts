// The iot-monitoring sample's events as the SQL end-to-end tests send them, and the rows its statement (a 1-minute
// TUMBLE counting ERROR events per error_code) must give, computed by the SQLite oracle over the same events.
import { SqlOracle, type OracleValue } from './sql-oracle';

export const MINUTE = 60_000;

export type IotEvent = { error_code: string | null; type: string; application: string; version: string; description: string; ts: number };

/** `count` events over 4 minutes from t0 cycling through `codes`, in time order with up to 3 s of disorder (the
 *  watermark's delay); `label` marks the run in every description. */
export function iotEvents(t0: number, count: number, label: string, codes: readonly (string | null)[]): IotEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    error_code: codes[(i * 7) % codes.length], type: i % 4 === 0 ? 'INFO' : 'ERROR',
    application: `app-${i % 5}`, version: '1.0', description: `${label} ${i}`,
    ts: t0 + ((i * 613) % (4 * MINUTE)),
  })).sort((a, b) => a.ts - b.ts);
}

/** The statement's rows over `events`: window bounds in epoch ms, error_code, error_count. */
export async function iotExpected(events: IotEvent[]): Promise<Record<string, OracleValue>[]> {
  const oracle = await SqlOracle.open();
  oracle.load('t', ['error_code', 'type', 'ts'], events);
  const rows = oracle.query(`SELECT ts - ts % ${MINUTE} AS window_start, ts - ts % ${MINUTE} + ${MINUTE} AS window_end, error_code, COUNT(*) AS error_count
    FROM t WHERE type = 'ERROR' GROUP BY 1, 2, 3`);
  oracle.close();
  return rows;
}
