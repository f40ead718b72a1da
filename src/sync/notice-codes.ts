/**
 * Every notice code of the sync plan. sync logs a notice as the event `sync.<code>`, so a code
 * has the events' form (lower case words joined by `_`); docs/audit.md lists them all, and
 * test/unit/audit-events.test.ts keeps the list and the code in step. Pure.
 */
import type { NameProblem } from './names';

export const NOTICE_CODES = [
  'iam_read_failed', 'local_group_missing',
  'name_empty', 'name_too_long', 'name_bad_first_char', 'name_bad_char', 'name_reserved', 'name_collision', 'name_not_iam_name',
  'protected_account', 'unmanaged_conflict', 'identity_changed', 'name_is_group', 'uid_exhausted', 'uid_collision',
  'revocation_deferred', 'removal_skipped_collision', 'removal_deferred', 'removal_refused', 'uid_out_of_range', 'registry_mismatch',
  'legacy_not_adopted', 'legacy_duplicate', 'rename_blocked', 'legacy_sudoers_unmanaged', 'legacy_sudoers_deferred', 'userdel_remove_ignored',
] as const;

export type NoticeCode = (typeof NOTICE_CODES)[number];

/** Why names.ts skipped an IAM name -> the notice that says so. */
export const NAME_SKIPPED: Readonly<Record<NameProblem | 'collision' | 'not-iam-name', NoticeCode>> = {
  empty: 'name_empty', 'too-long': 'name_too_long', 'bad-first-char': 'name_bad_first_char', 'bad-char': 'name_bad_char',
  reserved: 'name_reserved', collision: 'name_collision', 'not-iam-name': 'name_not_iam_name',
};
