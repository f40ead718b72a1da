/**
 * deploy/iam-ssh-publisher.yaml read as CloudFormation reads it: the short forms (!Ref, !Sub,
 * !GetAtt, ...) become their long forms ({ Ref }, { 'Fn::Sub' }, ...), so tests can look at
 * what the template declares, including what the emulator ignores when it deploys it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Tags } from 'yaml';

export const PUBLISHER_TEMPLATE = join(__dirname, '..', '..', 'deploy', 'iam-ssh-publisher.yaml');

const FUNCTIONS = ['Base64', 'Cidr', 'FindInMap', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'Equals', 'If', 'Not', 'And', 'Or'];

const tags: Tags = [
  ...(['scalar', 'seq', 'map'] as const).flatMap((kind) => [
    { tag: '!Ref', collection: kind === 'scalar' ? undefined : kind, resolve: (v: unknown) => ({ Ref: v }) },
    { tag: '!GetAtt', collection: kind === 'scalar' ? undefined : kind, resolve: (v: unknown) => ({ 'Fn::GetAtt': typeof v === 'string' ? v.split('.') : v }) },
    ...FUNCTIONS.map((f) => ({ tag: `!${f}`, collection: kind === 'scalar' ? undefined : kind, resolve: (v: unknown) => ({ [`Fn::${f}`]: v }) })),
  ]),
].map((t) => (t.collection ? { ...t, resolve: (v: { toJSON(): unknown }) => t.resolve(v.toJSON()) } : t)) as unknown as Tags;

export interface Template {
  Parameters: Record<string, { Type: string; Default?: unknown }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown }>;
  Outputs: Record<string, { Value: unknown }>;
}

export function readPublisherTemplate(): { text: string; template: Template } {
  const text = readFileSync(PUBLISHER_TEMPLATE, 'utf8');
  return { text, template: parse(text, { customTags: tags }) as Template };
}
