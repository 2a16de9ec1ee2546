import { spawn, type ChildProcess } from 'node:child_process';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The real CLI from source in a child process, with exactly the given environment (and PATH). */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliRun>;
  private readonly child: ChildProcess;

  private constructor(args: readonly string[], env: Record<string, string>, killAfterMs: number) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk) => (this.stdout += chunk));
    this.child.stderr!.on('data', (chunk) => (this.stderr += chunk));
    const killer = setTimeout(() => this.child.kill('SIGKILL'), killAfterMs);
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        clearTimeout(killer);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  static start(args: readonly string[], env: Record<string, string>, options: { killAfterMs?: number } = {}): CliProcess {
    return new CliProcess(args, env, options.killAfterMs ?? 25_000);
  }

  /** Resolves once the output matches; rejects with the output if the process exits first. */
  waitFor(pattern: RegExp): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.stdout + this.stderr)) return false;
        this.child.stdout!.off('data', check);
        this.child.stderr!.off('data', check);
        resolve();
        return true;
      };
      if (check()) return;
      this.child.stdout!.on('data', check);
      this.child.stderr!.on('data', check);
      void this.exited.then((run) => {
        if (!check()) reject(new Error(`exited (code ${run.code}, signal ${run.signal}) before ${pattern}:\n${run.stderr.slice(-1500)}`));
      });
    });
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<CliRun> {
    this.child.kill(signal);
    return this.exited;
  }
}

/** Runs the CLI to its end; with `until` and `thenSignal`, signals it once the output matches. */
export function runCli(args: string[], env: Record<string, string>, options: { until?: RegExp; thenSignal?: NodeJS.Signals } = {}): Promise<CliRun> {
  const cli = CliProcess.start(args, env);
  if (options.until && options.thenSignal) {
    const signal = options.thenSignal;
    cli.waitFor(options.until).then(() => void cli.stop(signal), () => {});
  }
  return cli.exited;
}
