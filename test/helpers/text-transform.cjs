// Jest transform for the text files that esbuild embeds as strings (systemd units).
module.exports = {
  process(source) {
    return { code: `module.exports = ${JSON.stringify(source)}; module.exports.default = module.exports;` };
  },
};
