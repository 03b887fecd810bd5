import { MemoryStateStore } from './memory';
import { RocksDbStateStore } from './rocksdb';
import type { StateType, WindowStateStore } from './types';

export type { EventBuffer, EventsSnapshot, StateStoreStatus, StateType, WindowStateStore } from './types';
export { MemoryStateStore } from './memory';
export { RocksDbStateStore, ROCKSDB_DIR_NAME, type RocksDbStateOptions } from './rocksdb';
export { ReadAhead } from './read-ahead';
export {
  resolveStateType,
  stateDirectory,
  ATTRIBUTE_WINDOW_STATE,
  STATE_TYPE_ENV_NAMES,
  STATE_TYPES,
  type StateChoice,
} from './settings';

/** The store for a state type; `dir` is the replica's state directory (used by ROCKSDB only). */
export function createStateStore(type: StateType, options: { dir: string; onError?: (err: Error) => void }): WindowStateStore {
  return type === 'ROCKSDB' ? new RocksDbStateStore(options) : new MemoryStateStore();
}
