/**
 * Reaches the full program. From source (tests, scripts) this is a plain lazy import; the
 * executable's build swaps this module for ./load-full-sea.ts, which compiles the full program
 * from an asset of the executable.
 */
export type Full = typeof import('./full');

export function loadFull(): Promise<Full> {
  return import('./full');
}
