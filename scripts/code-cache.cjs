// Writes a V8 code cache for a CommonJS bundle: compile it as Node would wrap it, run its top
// level so the functions it defines eagerly are compiled too, then serialize.
// Usage: node scripts/code-cache.cjs BUNDLE OUT
//        node scripts/code-cache.cjs --check BUNDLE CACHE   (exit 1 if V8 rejects the cache)
// Run it with the node binary that will read the cache: V8 accepts only a cache of its own build.
const { readFileSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');
const Module = require('node:module');

const FILENAME = 'iam-ssh-full.js';
const check = process.argv[2] === '--check';
const [bundle, out] = process.argv.slice(check ? 3 : 2);
if (check) {
  const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: FILENAME, cachedData: readFileSync(out) });
  if (script.cachedDataRejected) {
    process.stderr.write(`V8 rejects the code cache ${out}\n`);
    process.exit(1);
  }
} else {
  const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: FILENAME });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, require, mod, FILENAME, '.');
  writeFileSync(out, script.createCachedData());
}
