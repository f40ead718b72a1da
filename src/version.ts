/**
 * `iam-ssh --version [--json]`: the version, the commit it was built from, the Node runtime
 * inside and the target. Answered by the login bundle, so it costs one small-bundle start.
 * The build fills in the values (scripts/build.mjs); run from source they read as unknown.
 */
export interface BuildValues {
  version?: string;
  commit?: string;
  target?: string;
}

export interface RuntimeValues {
  node: string;
  platform: string;
  arch: string;
}

export interface VersionInfo {
  name: 'iam-ssh';
  version: string;
  commit: string;
  node: string;
  target: string;
}

export type VersionFormat = 'text' | 'json';

/** Only these exact forms; anything else (`sync --version`, repeats) is yargs' to parse. */
export function versionRequest(argv: readonly string[]): VersionFormat | null {
  if (argv.length === 1 && argv[0] === '--version') return 'text';
  if (argv.length === 2 && argv.includes('--version') && argv.includes('--json')) return 'json';
  return null;
}

export function versionInfo(build: BuildValues, runtime: RuntimeValues): VersionInfo {
  const running = `${runtime.platform}-${runtime.arch}`;
  const target = build.target ?? running;
  return {
    name: 'iam-ssh',
    version: build.version ?? '0.0.0-dev',
    commit: build.commit ?? 'unknown',
    node: runtime.node.replace(/^v/, ''),
    target: target === running ? target : `${target} (running on ${running})`,
  };
}

export function versionText(info: VersionInfo, format: VersionFormat): string {
  if (format === 'json') return JSON.stringify(info) + '\n';
  return `${info.name} ${info.version} (commit ${info.commit}, node ${info.node}, ${info.target})\n`;
}
