// Which state store a windowed processor uses. The original chose it only through `srp.envs`, which became the
// Spring property srp.processor.stateType (MEMORY | ROCKSDB) of its processor container, so manifests carry
// `srp.envs: "SRP_PROCESSOR_STATETYPE=ROCKSDB"`. We read that, the short `STATE_TYPE=ROCKSDB`, and the explicit
// attribute `srp.window.state: ROCKSDB`. Contradicting choices are a configuration error rather than a guess.
// Shared by the processor (which store to open) and the API validation (a contradiction is a 422, not a processor
// that exits at start). The original's `SRP_PROCESSOR_ROCKSDBPATH` is ignored: where state lives is the runtime's
// decision (processor/state `stateDirectory`).

import { parseEnvs } from './expressions/envs';

export type StateType = 'MEMORY' | 'ROCKSDB';

export const ATTRIBUTE_WINDOW_STATE = 'srp.window.state';
export const ATTRIBUTE_ENVS = 'srp.envs';
/** `srp.envs` names that choose the state type: the original's, and the short form. */
export const STATE_TYPE_ENV_NAMES = ['SRP_PROCESSOR_STATETYPE', 'STATE_TYPE'] as const;
export const STATE_TYPES: readonly StateType[] = ['MEMORY', 'ROCKSDB'];

export interface StateChoice {
  type: StateType;
  /** Where the choice came from, for logs: `default`, `srp.window.state`, `srp.envs SRP_PROCESSOR_STATETYPE`. */
  source: string;
}

function stateType(value: string, source: string): StateType {
  const type = value.trim().toUpperCase();
  if (type === 'MEMORY' || type === 'ROCKSDB') return type;
  throw new Error(`${source}: '${value}' is not MEMORY or ROCKSDB`);
}

/** Throws an Error naming the attribute when a value is invalid or two choices contradict each other. */
export function resolveStateType(attributes: Readonly<Record<string, string>>): StateChoice {
  const choices: StateChoice[] = [];
  const explicit = attributes[ATTRIBUTE_WINDOW_STATE];
  if (explicit !== undefined && explicit.trim() !== '') {
    choices.push({ type: stateType(explicit, ATTRIBUTE_WINDOW_STATE), source: ATTRIBUTE_WINDOW_STATE });
  }
  const envsText = attributes[ATTRIBUTE_ENVS];
  if (envsText !== undefined && envsText.trim() !== '') {
    const envs = parseEnvs(envsText);
    if (!envs.ok) throw new Error(`${ATTRIBUTE_ENVS}: ${envs.error}`);
    for (const name of STATE_TYPE_ENV_NAMES) {
      const value = envs.value[name];
      if (value !== undefined) choices.push({ type: stateType(value, `${ATTRIBUTE_ENVS} ${name}`), source: `${ATTRIBUTE_ENVS} ${name}` });
    }
  }
  const [first, ...others] = choices;
  if (!first) return { type: 'MEMORY', source: 'default' };
  const conflict = others.find((c) => c.type !== first.type);
  if (conflict) throw new Error(`${first.source}=${first.type} contradicts ${conflict.source}=${conflict.type}`);
  return first;
}
