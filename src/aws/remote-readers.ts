/** The network reads behind resolveConfig's remote layers, as sync uses them. */
import type { RemoteReaders } from '../config/resolve';
import { readSsmParameters } from './ssm';
import { readInstanceTags } from '../platform/imds';

export const awsRemoteReaders: RemoteReaders = {
  ssmParameters: readSsmParameters,
  instanceTags: (config, keys) => readInstanceTags(config.imdsEndpoint, keys),
};
