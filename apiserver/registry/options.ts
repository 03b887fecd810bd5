// What a write request asks of the registry beyond its body (the query parameters of CreateOptions, UpdateOptions
// and PatchOptions), decoded by the endpoints.
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface WriteOptions {
  dryRun: boolean;
  /** Who is writing (fieldManager, or derived from the User-Agent). */
  fieldManager: string;
  fieldValidation: FieldValidation;
  /** Warnings for the response's `Warning` headers (appended to). */
  warnings: string[];
}
