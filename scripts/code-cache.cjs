// Writes a V8 code cache for a CommonJS bundle: compile it as Node would wrap it, run its top
// level so the functions it defines eagerly are compiled too, then serialize.
// Usage: node scripts/code-cache.cjs BUNDLE OUT
const { readFileSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');
const Module = require('node:module');

const [bundle, out] = process.argv.slice(2);
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: 'iam-ssh-full.js' });
const mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, require, mod, 'iam-ssh-full.js', '.');
writeFileSync(out, script.createCachedData());
