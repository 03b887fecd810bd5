// The attributes of an FSQL Processor that tune the SQL engine (crds/attributes.ts describes them).
import { parseDuration } from '../../crds/expressions/duration';

export const ATTRIBUTE_IDLE_TIMEOUT = 'srp.watermark.idleTimeout';
export const ATTRIBUTE_STATE_TTL = 'srp.sql.state.ttl';
/** An input partition silent this long stops holding the watermark back (as for SRP windows). */
export const DEFAULT_SQL_IDLE_TIMEOUT_MS = 30_000;

export interface SqlEngineSettings {
  idleTimeoutMs: number;
  /** Absent: join state is kept forever. */
  stateTtlMs?: number;
}

function duration(attributes: Readonly<Record<string, string>>, name: string): number | undefined {
  const text = attributes[name]?.trim();
  if (!text) return undefined;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(`${name}: ${parsed.error}`);
  return parsed.value;
}

export function sqlEngineSettings(attributes: Readonly<Record<string, string>>): SqlEngineSettings {
  const ttl = duration(attributes, ATTRIBUTE_STATE_TTL);
  return {
    idleTimeoutMs: duration(attributes, ATTRIBUTE_IDLE_TIMEOUT) ?? DEFAULT_SQL_IDLE_TIMEOUT_MS,
    ...(ttl ? { stateTtlMs: ttl } : {}),
  };
}
