import { callStats, formatCalls, totalCalls } from '../../../src/aws/call-stats';

test('groups calls by service and action, leaving out services and actions without calls', () => {
  const stats = callStats({ iam: { ListSSHPublicKeys: 2, GetGroup: 1, GetSSHPublicKey: 0 }, ssm: {}, sts: undefined });
  expect(stats).toEqual({ iam: { GetGroup: 1, ListSSHPublicKeys: 2 } });
  expect(Object.keys(stats.iam!)).toEqual(['GetGroup', 'ListSSHPublicKeys']);
  expect(totalCalls(stats)).toBe(3);
  expect(formatCalls(stats)).toBe('3 AWS calls: iam GetGroup 1, ListSSHPublicKeys 2');
});

test('a run without calls', () => {
  expect(callStats({ iam: {} })).toEqual({});
  expect(formatCalls({})).toBe('0 AWS calls');
  expect(formatCalls(callStats({ iam: { GetGroup: 1 }, ssm: { GetParametersByPath: 2 } }))).toBe('3 AWS calls: iam GetGroup 1; ssm GetParametersByPath 2');
  expect(formatCalls({ sts: { GetCallerIdentity: 1 } })).toBe('1 AWS call: sts GetCallerIdentity 1');
});
