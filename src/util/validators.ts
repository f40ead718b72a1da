/**
 * The syntax of every name and id iam-ssh accepts from IAM, a config file, sshd or PAM, in one
 * place. Pure: what a name means (reserved, managed, mapped) is decided elsewhere.
 */

/** What IAM itself accepts as a user name. */
const IAM_USER_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;
/** What IAM accepts as a group name. */
const IAM_GROUP_NAME = /^[A-Za-z0-9+=,.@_-]{1,128}$/;
/** A local user or group name as iam-ssh writes and reads it: portable across shadow-utils and systemd. */
const LOCAL_NAME = /^[a-z_][a-z0-9._-]{0,31}$/;
/**
 * A name aws-ec2-ssh gave an account (its check: `^[0-9a-zA-Z._-]{1,32}$`, case kept, as Amazon
 * Linux's and RHEL's useradd accept), less what iam-ssh never takes as a name: a leading `-`
 * (an option to every tool) or `.` (`.` and `..` as a file name under CACHE_DIR), and all digits
 * (read as a UID by pkill, chown and id).
 */
const LEGACY_LOCAL_NAME = /^(?![0-9]+$)[0-9A-Za-z_][0-9A-Za-z._-]{0,31}$/;
/** An IAM SSH public key id (APKA…). */
const IAM_KEY_ID = /^[A-Z0-9]{1,128}$/;
/** An OpenSSH SHA256 fingerprint, as sshd passes it with %f. */
export const SHA256_FINGERPRINT_SOURCE = 'SHA256:[A-Za-z0-9+/]{43}';
const SHA256_FINGERPRINT = new RegExp(`^${SHA256_FINGERPRINT_SOURCE}$`);

/** An AWS region name (us-east-1, ap-southeast-2, us-gov-west-1). */
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The longest local name: useradd's limit, and aws-ec2-ssh's. */
export const LOCAL_NAME_MAX = 32;

export const isIamUserName = (name: string): boolean => IAM_USER_NAME.test(name);
export const isIamGroupName = (name: string): boolean => IAM_GROUP_NAME.test(name);
export const isLocalNameSyntax = (name: string): boolean => LOCAL_NAME.test(name);
/** An account name aws-ec2-ssh made, which iam-ssh keeps when it adopts the account. */
export const isLegacyLocalNameSyntax = (name: string): boolean => LEGACY_LOCAL_NAME.test(name);
export const isIamKeyId = (id: string): boolean => IAM_KEY_ID.test(id);
export const isAwsRegion = (name: string): boolean => AWS_REGION.test(name);
export const isSha256Fingerprint = (fp: string): boolean => SHA256_FINGERPRINT.test(fp);
