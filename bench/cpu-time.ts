import { readdirSync, readFileSync } from 'node:fs';

/** CPU time of a process, all its threads (GC and libuv workers too), in ms: contention by other processes does not inflate it. */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return ns / 1e6;
}
