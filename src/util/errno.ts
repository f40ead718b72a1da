/** The errno code of a failed system call (ENOENT, EACCES…), else the error's message. */
export function errnoText(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? (e instanceof Error ? e.message : String(e));
}

/** True when a system call failed because the path does not exist. */
export function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}
