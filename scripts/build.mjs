// Builds dist/iam-ssh: esbuild bundles src/main.ts into one CommonJS file, Node's
// single-executable-application support turns it into a blob, and postject injects the
// blob into a stripped copy of this node binary. Linux x64, Node 20.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

if (process.platform !== 'linux') throw new Error('iam-ssh is built on and for Linux');
if (!process.versions.node.startsWith('20.')) console.warn(`warning: building with Node ${process.versions.node}; the project targets Node 20`);

const t0 = Date.now();
mkdirSync(dist, { recursive: true });
// Everything is made in a private directory and renamed into place at the end, so a test or a
// second build running meanwhile never sees a half-written executable.
const work = mkdtempSync(join(dist, '.build-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const bundle = join(work, 'iam-ssh.cjs');
await build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  keepNames: false,
  legalComments: 'none',
  // yargs is ESM and calls createRequire(import.meta.url); give it a URL that exists.
  banner: { js: 'var __importMetaUrl = require("url").pathToFileURL(process.execPath).href;' },
  define: { IAM_SSH_VERSION: JSON.stringify(pkg.version), 'import.meta.url': '__importMetaUrl' },
  logLevel: 'warning',
});

const seaConfig = join(work, 'sea-config.json');
const blob = join(work, 'iam-ssh.blob');
writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });

const exe = join(dist, 'iam-ssh');
const tmpExe = join(work, 'iam-ssh');
copyFileSync(process.execPath, tmpExe);
chmodSync(tmpExe, 0o755);
// Strip before injecting: stripping afterwards drops the injected section.
execFileSync('strip', ['--strip-all', tmpExe], { stdio: ['ignore', 'ignore', 'ignore'] });
execFileSync(process.execPath, [join(root, 'node_modules/postject/dist/cli.js'), tmpExe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
chmodSync(tmpExe, 0o755);
renameSync(tmpExe, exe);
console.log(`built ${exe} (${pkg.version}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
