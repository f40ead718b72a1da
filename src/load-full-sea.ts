/**
 * The executable's ./load-full.ts: the full program is a CommonJS bundle stored as a
 * single-executable asset with a V8 code cache made at build time by the same node binary.
 * A cache that V8 rejects (other flags, other CPU features) only costs compile time.
 */
import { getAsset } from 'node:sea';
import { Script } from 'node:vm';
import Module from 'node:module';
import type { Full } from './load-full';

export type { Full };

const FILENAME = 'iam-ssh-full.js';
let loaded: Full | undefined;

export async function loadFull(): Promise<Full> {
  if (loaded) return loaded;
  const source = getAsset('full.js', 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = Buffer.from(getAsset('full.cache'));
  } catch {
    cachedData = undefined;
  }
  const script = new Script(Module.wrap(source), { filename: FILENAME, cachedData });
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeRequire, m: { exports: unknown }, f: string, d: string) => void;
  const mod = { exports: {} as unknown };
  // The bundle needs only Node's built-in modules, which this script's require can load.
  wrapper.call(mod.exports, mod.exports, require, mod, FILENAME, '.');
  loaded = mod.exports as Full;
  return loaded;
}
