// Builds iam-ssh as a Node single executable: esbuild bundles src/main.ts into one CommonJS file,
// the target's own Node (the pinned runtime of scripts/release/runtime.json, under qemu-user for
// another CPU) makes the V8 code cache and the SEA blob, and postject injects the blob into a
// stripped copy of that node binary.
// `node scripts/build.mjs` makes dist/iam-ssh for this machine's CPU (what the tests and the
// bench run); scripts/release/release.mjs calls buildExecutable for every target.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loginBundleViolations } from './bundle-rules.mjs';
import { PINNED, hostTarget, nodeCommand, runtimeBinary, stripTool } from './release/runtime.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The commit the build is made from, marked when tracked files differ from it. */
export function sourceCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** Runs a build step; its chatter is shown only when it fails. */
function step(cmd, args, cwd = undefined) {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: e });
  }
}

// --random-seed fixes the hash seed V8 lays its tables out with, and --predictable makes V8 run
// single-threaded and in a fixed order (no background compilation or GC timing to decide what
// is compiled), so the code caches are the same bytes at every build, also on a busy machine.
// V8 leaves both flags out of the flag hash it checks a cache against, so the runtime (with its
// own random seed, multi-threaded) still accepts them; the --check step proves it for each
// build. The work directory is the current one and paths are relative, since the SEA blob
// records the main script's path.
// The SEA blob's code cache of the main script is made with --random-seed alone: one made under
// --predictable measured 15 to 40 ms slower at every start (V8 appears not to use it).
const DETERMINISTIC = ['--random-seed=1', '--predictable'];
const SEA_FLAGS = ['--random-seed=1'];
function runTargetNode(arch, work, args, runtimeNode, flags = DETERMINISTIC) {
  const [cmd, ...pre] = runtimeNode ? [runtimeNode] : nodeCommand(arch);
  step(cmd, [...pre, ...flags, ...args], work);
}

/**
 * Builds the executable of one target into `out` (written atomically). Returns the sizes of
 * its parts.
 */
export async function buildExecutable({ arch = hostTarget(), out, commit = sourceCommit(), runtimeNode = undefined }) {
  if (process.platform !== 'linux') throw new Error('iam-ssh is built on and for Linux');
  // runtimeNode: another node binary of this machine's CPU, for comparisons (bench) only.
  if (runtimeNode && arch !== hostTarget()) throw new Error('--runtime-node builds for this machine only');
  const node = runtimeNode ?? runtimeBinary(arch);
  mkdirSync(dirname(out), { recursive: true });
  // Everything is made in a private directory and renamed into place at the end, so a test or a
  // second build running meanwhile never sees a half-written executable.
  const work = mkdtempSync(join(dirname(out), '.build-'));
  try {
    // Two bundles: the login path (what a keys cache hit runs) is the executable's main script;
    // everything else is an asset compiled only by the processes that need it (src/load-full-sea.ts).
    const loginBundle = join(work, 'iam-ssh.cjs');
    const fullBundle = join(work, 'full.js');
    const common = {
      bundle: true,
      absWorkingDir: root,
      platform: 'node',
      target: `node${PINNED.version.split('.')[0]}`,
      format: 'cjs',
      minify: true,
      keepNames: false,
      legalComments: 'none',
      loader: { '.service': 'text', '.timer': 'text' },
      // yargs is ESM and calls createRequire(import.meta.url); give it a URL that exists.
      banner: { js: 'var __importMetaUrl = require("url").pathToFileURL(process.execPath).href;' },
      define: {
        IAM_SSH_VERSION: JSON.stringify(pkg.version),
        IAM_SSH_COMMIT: JSON.stringify(commit),
        IAM_SSH_TARGET: JSON.stringify(`linux-${arch}`),
        'import.meta.url': '__importMetaUrl',
      },
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
    const full = await build({ ...common, entryPoints: [join(root, 'src/full.ts')], outfile: fullBundle, metafile: true });
    // The login path's invariant, checked on what esbuild put into the bundle, not on its text.
    const forbidden = loginBundleViolations(login.metafile);
    if (forbidden.length) throw new Error(`the login bundle must contain neither the AWS SDK nor yargs; it has ${forbidden.slice(0, 5).join(', ')}`);
    // The V8 code cache of the full bundle and the SEA blob (with the login bundle's code cache)
    // are made by the target's node binary, which is also the runtime that will read them.
    runTargetNode(arch, work, [join(root, 'scripts/code-cache.cjs'), 'full.js', 'full.cache'], runtimeNode);
    // A rejected cache would cost only time, silently: check it with a fresh process.
    runTargetNode(arch, work, [join(root, 'scripts/code-cache.cjs'), '--check', 'full.js', 'full.cache'], runtimeNode, []);
    const seaConfig = join(work, 'sea-config.json');
    const blob = join(work, 'iam-ssh.blob');
    const sea = { main: 'iam-ssh.cjs', output: 'iam-ssh.blob', assets: { 'full.js': 'full.js', 'full.cache': 'full.cache' }, disableExperimentalSEAWarning: true, useCodeCache: true };
    writeFileSync(seaConfig, JSON.stringify(sea));
    runTargetNode(arch, work, ['--experimental-sea-config', 'sea-config.json'], runtimeNode, SEA_FLAGS);

    const tmpExe = join(work, 'iam-ssh');
    copyFileSync(node, tmpExe);
    chmodSync(tmpExe, 0o755);
    // Strip before injecting: stripping afterwards drops the injected section.
    step(stripTool(arch), ['--strip-all', tmpExe]);
    // postject (LIEF) warns about the section names strip left; the result is checked by the tests.
    step(process.execPath, [join(root, 'node_modules/postject/dist/cli.js'), tmpExe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE]);
    chmodSync(tmpExe, 0o755);
    renameSync(tmpExe, out);
    return {
      loginBundle: statSync(loginBundle).size,
      fullBundle: statSync(fullBundle).size,
      executable: statSync(out).size,
      inputs: [...Object.keys(login.metafile.inputs), ...Object.keys(full.metafile.inputs)],
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = Date.now();
  // Default: dist/iam-ssh on the pinned runtime. `--runtime-node NODE --out FILE`: on another node.
  const argv = process.argv.slice(2);
  const opt = (name) => (argv.includes(name) ? resolve(argv[argv.indexOf(name) + 1] ?? '') : undefined);
  const runtimeNode = opt('--runtime-node');
  const out = opt('--out') ?? join(root, 'dist', 'iam-ssh');
  if (runtimeNode && out === join(root, 'dist', 'iam-ssh')) throw new Error('--runtime-node needs --out: dist/iam-ssh is built on the pinned runtime');
  const s = await buildExecutable({ out, runtimeNode });
  const kB = (n) => `${Math.round(n / 1024)} kB`;
  console.log(
    `built ${out} (${pkg.version}, Node ${runtimeNode ? execFileSync(runtimeNode, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim() : PINNED.version} linux-${hostTarget()}; login path ${kB(s.loginBundle)}, the rest ${kB(s.fullBundle)}, ` +
      `executable ${(s.executable / 1048576).toFixed(1)} MiB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}
