/** The IAM directory the sync benchmarks read: `users` IAM users spread over `groups` groups, one SSH key each. */
import { CreateGroupCommand, CreateUserCommand, AddUserToGroupCommand, UploadSSHPublicKeyCommand, type IAMClient } from '@aws-sdk/client-iam';

/** Creates the groups and users in the emulator; returns the group names. */
export async function seedBenchUsers(iam: IAMClient, users: number, groups: number, keyLine: string): Promise<string[]> {
  const names = Array.from({ length: groups }, (_, i) => `bench-group-${i}`);
  for (const g of names) await iam.send(new CreateGroupCommand({ GroupName: g }));
  for (let i = 0; i < users; i++) {
    const name = `Bench.User${i}`;
    await iam.send(new CreateUserCommand({ UserName: name }));
    await iam.send(new AddUserToGroupCommand({ GroupName: names[i % groups]!, UserName: name }));
    await iam.send(new UploadSSHPublicKeyCommand({ UserName: name, SSHPublicKeyBody: keyLine }));
  }
  return names;
}
