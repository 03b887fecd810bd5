// Which state store a windowed processor uses: resolved by crds/window-state.ts (shared with the API validation);
// where it lives: one directory per replica.

import { join } from 'node:path';

export { ATTRIBUTE_ENVS, ATTRIBUTE_WINDOW_STATE, resolveStateType, STATE_TYPE_ENV_NAMES, STATE_TYPES, type StateChoice } from '../../crds/window-state';

/** The replica's state directory: the configured one, else `.sr-state/<namespace>.<name>-<index>` in `cwd`. */
export function stateDirectory(config: { stateDir?: string; namespace: string; name: string; instanceIndex: number }, cwd: string): string {
  if (config.stateDir) return config.stateDir;
  return join(cwd, '.sr-state', `${config.namespace}.${config.name}-${config.instanceIndex}`);
}
