// Keeps files that other tools rotate (cert-manager, kubelet's projected Secrets) current without a restart, like
// kube's dynamic certificate controllers: every interval each file is stat'ed, and when one looks changed (inode,
// size or mtime: a rename swap, a rewrite) all of them are read again and handed over together, but only if their
// content hash differs from what was last accepted. Polling rather than inotify: it sees renames of the file, of its
// directory and of Kubernetes' `..data` symlink swaps alike, and a few stats every few seconds cost nothing. A full
// re-read once a minute (kube's resync) catches writes that kept size and mtime.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const DEFAULT_FILE_POLL_MS = 3_000;
const RESYNC_MS = 60_000;

export interface FileWatchOptions {
  intervalMs?: number;
  /** Receives every file's content (in the order of `paths`); throws when they are not acceptable (kept: the old). */
  apply(contents: string[]): void;
  /** A read or `apply` failure, once per distinct content (the previous content stays in force). */
  onError(message: string): void;
}

export interface FileWatch {
  /** Checks now (tests, and callers that know a change happened). */
  check(): void;
  stop(): void;
}

function fingerprint(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Watches `paths` whose current content the caller has already applied (`initial`). */
export function watchFiles(paths: string[], initial: string[], options: FileWatchOptions): FileWatch {
  const digest = (contents: string[]): string => createHash('sha256').update(JSON.stringify(contents)).digest('hex');
  let accepted = digest(initial);
  let lastFailed = '';
  let stats = paths.map(fingerprint).join('|');
  let lastFullRead = Date.now();

  const check = (force = false): void => {
    const now = paths.map(fingerprint).join('|');
    if (!force && now === stats && Date.now() - lastFullRead < RESYNC_MS) return;
    stats = now;
    lastFullRead = Date.now();
    let contents: string[];
    try {
      contents = paths.map((path) => readFileSync(path, 'utf8'));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message !== lastFailed) options.onError(message);
      lastFailed = message;
      return;
    }
    const hash = digest(contents);
    if (hash === accepted || hash === lastFailed) return;
    try {
      options.apply(contents);
      accepted = hash;
      lastFailed = '';
    } catch (err) {
      lastFailed = hash;
      options.onError(err instanceof Error ? err.message : String(err));
    }
  };
  const timer = setInterval(() => check(), options.intervalMs ?? DEFAULT_FILE_POLL_MS);
  timer.unref();
  return { check: () => check(true), stop: () => clearInterval(timer) };
}
