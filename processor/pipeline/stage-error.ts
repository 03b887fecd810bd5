// Where in the pipeline a message failed: the dead letter carries it as `x-exception-stage`.

export type PipelineStage = 'decode' | 'transform' | 'filter' | 'timestamp' | 'window' | 'udf' | 'headers' | 'partition';

/** Thrown by a stage to say where a message failed; the pipeline dead-letters it with this stage in its headers. */
export class StageError extends Error {
  constructor(
    readonly stage: PipelineStage,
    message: string,
  ) {
    super(message);
    this.name = 'StageError';
  }
}
