// Builds dist/iam-ssh: esbuild bundles src/main.ts into one CommonJS file, Node's
// single-executable-application support turns it into a blob, and postject injects the
// blob into a stripped copy of this node binary. Linux x64, Node 20.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loginBundleViolations } from './bundle-rules.mjs';

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
// Two bundles: the login path (what a keys cache hit runs) is the executable's main script;
// everything else is an asset compiled only by the processes that need it (src/load-full-sea.ts).
const loginBundle = join(work, 'iam-ssh.cjs');
const fullBundle = join(work, 'full.js');
const fullCache = join(work, 'full.cache');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  keepNames: false,
  legalComments: 'none',
  loader: { '.service': 'text', '.timer': 'text' },
  // yargs is ESM and calls createRequire(import.meta.url); give it a URL that exists.
  banner: { js: 'var __importMetaUrl = require("url").pathToFileURL(process.execPath).href;' },
  define: { IAM_SSH_VERSION: JSON.stringify(pkg.version), 'import.meta.url': '__importMetaUrl' },
  logLevel: 'warning',
};
const loadModule = join(root, 'src/load-full');
const fullFromAsset = {
  name: 'full-from-asset',
  setup(b) {
    b.onResolve({ filter: /\/load-full$/ }, (args) =>
      resolve(args.resolveDir, args.path) === loadModule ? { path: join(root, 'src/load-full-sea.ts') } : undefined,
    );
  },
};
const login = await build({ ...common, entryPoints: [join(root, 'src/main.ts')], outfile: loginBundle, plugins: [fullFromAsset], metafile: true });
await build({ ...common, entryPoints: [join(root, 'src/full.ts')], outfile: fullBundle });
// The login path's invariant, checked on what esbuild put into the bundle, not on its text.
const forbidden = loginBundleViolations(login.metafile);
if (forbidden.length) throw new Error(`the login bundle must contain neither the AWS SDK nor yargs; it has ${forbidden.slice(0, 5).join(', ')}`);
// A V8 code cache for the full bundle, made by this node binary, which is also the runtime.
execFileSync(process.execPath, [join(root, 'scripts/code-cache.cjs'), fullBundle, fullCache], { stdio: ['ignore', 'ignore', 'inherit'] });

const seaConfig = join(work, 'sea-config.json');
const blob = join(work, 'iam-ssh.blob');
writeFileSync(seaConfig, JSON.stringify({ main: loginBundle, output: blob, assets: { 'full.js': fullBundle, 'full.cache': fullCache }, disableExperimentalSEAWarning: true, useCodeCache: true }));
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
const kB = (f) => `${Math.round(statSync(f).size / 1024)} kB`;
console.log(`built ${exe} (${pkg.version}; login path ${kB(loginBundle)}, the rest ${kB(fullBundle)}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
