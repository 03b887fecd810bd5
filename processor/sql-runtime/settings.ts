// The attributes of an FSQL Processor that tune the SQL engine (crds/attributes.ts describes them), and where its
// state lives: chosen as for SRP windows (`srp.window.state`, or the original's `srp.envs` SRP_PROCESSOR_STATETYPE),
// in the replica's state directory.
import type { Logger } from 'pino';
import { parseDuration } from '../../crds/expressions/duration';
import { resolveStateType, stateDirectory } from '../state/settings';
import { memoryState, type StateBackend } from '../sql/state';
import { RocksDbSqlState } from '../sql/state-rocksdb';

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

/** The engine's state: memory, or ROCKSDB in `<state dir>/sql.rocksdb` (durable join state across restarts). Throws
 *  naming the attribute when the choice is invalid or contradictory. */
export function sqlStateBackend(
  config: { attributes: Readonly<Record<string, string>>; stateDir?: string; namespace: string; name: string; instanceIndex: number },
  cwd: string,
  log: Pick<Logger, 'info' | 'error'>,
): StateBackend {
  const choice = resolveStateType(config.attributes);
  if (choice.type === 'MEMORY') return memoryState;
  const dir = stateDirectory(config, cwd);
  log.info({ state: choice.type, source: choice.source, dir }, 'SQL state on disk: join state survives restarts');
  return new RocksDbSqlState({
    dir,
    onError: (err) => log.error({ err: err.message, dir }, 'SQL state store failed: rows stay unacknowledged until a restart'),
  });
}
