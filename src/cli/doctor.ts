/** `iam-ssh doctor`: yargs wiring; the work is loaded only when the command runs. */
import type { Argv, CommandModule } from 'yargs';

interface DoctorArgs {
  config?: string;
  json: boolean;
}

export function doctorCommand(configFromEnv: string | undefined): CommandModule<object, DoctorArgs> {
  return {
    command: 'doctor',
    describe: 'check sshd, the binary, the command user, host keys, directories, AWS access, the clock and the last sync',
    builder: (y: Argv) =>
      y
        .option('json', { type: 'boolean', default: false, describe: 'print the results as one JSON document' })
        .epilogue(
          'Run as root. Each check prints ok, WARN, FAIL or skip, with a fix under problems; see docs/troubleshooting.md.\n' +
            'Exit status: 0 no check failed (warnings allowed); 1 a check failed; 2 the config does not load, or usage.',
        ) as unknown as Argv<DoctorArgs>,
    handler: async (args) => {
      const { runDoctor } = await import('./doctor-run');
      process.exitCode = await runDoctor({ configFile: args.config ?? configFromEnv, json: args.json });
    },
  };
}
