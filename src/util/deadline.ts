/**
 * When this process started, in Date.now() terms: sshd and PAM wait from the exec, so every
 * budget of theirs counts from here, not from when our code first ran.
 */
export function processStartMs(): number {
  return Math.floor(performance.timeOrigin);
}

/**
 * A hard limit on a command's wall time, for the commands that sshd and PAM wait on: when it
 * passes, `onExpire` runs (it logs and exits). The budget counts from `started`, also when it
 * is changed after the config is read.
 */
export class HardDeadline {
  private timer: NodeJS.Timeout;
  constructor(
    readonly started: number,
    private budget: number,
    private readonly onExpire: (budgetMs: number) => void,
  ) {
    this.timer = this.arm();
  }

  get budgetMs(): number {
    return this.budget;
  }

  /** The moment the budget runs out, in Date.now() terms. */
  get at(): number {
    return this.started + this.budget;
  }

  setBudget(ms: number): void {
    if (ms === this.budget) return;
    clearTimeout(this.timer);
    this.budget = ms;
    this.timer = this.arm();
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private arm(): NodeJS.Timeout {
    return setTimeout(() => this.onExpire(this.budget), Math.max(0, this.at - Date.now()));
  }
}
