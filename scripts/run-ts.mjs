// Runs a TypeScript script (bench, demo) by bundling it with esbuild first; dependencies
// stay in node_modules. Usage: node scripts/run-ts.mjs scripts/bench.ts [args...]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) throw new Error('usage: run-ts.mjs FILE.ts [args...]');
const out = join(root, 'dist', 'scripts', basename(entry).replace(/\.ts$/, '.cjs'));
mkdirSync(dirname(out), { recursive: true });
await build({ entryPoints: [join(root, entry)], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', logLevel: 'warning' });
const r = spawnSync(process.execPath, [out, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
