/** The ConfigError a config builder throws, for tests that check its message. */
import { ConfigError } from '../../src/config/parse';

export function thrownConfigError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('did not throw');
}
