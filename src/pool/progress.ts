// Progress of a batch of tasks (sweep points), on stderr: on a terminal a cli-progress bar with tasks done /
// total and the time left; otherwise one plain line per finished task (what a log file or CI wants). Wall
// time is for the display alone: it never reaches a task.
import cliProgress from 'cli-progress';

export interface CountProgress {
  /** One more task finished; `what` names it in the plain line. */
  tick(what: string): void;
  stop(): void;
}

export function startCountProgress(
  label: string,
  total: number,
  alreadyDone: number,
  stream: NodeJS.WriteStream = process.stderr,
): CountProgress {
  let done = alreadyDone;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} | ETA {eta_formatted}`,
        stream,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, done);
    let stopped = false;
    return {
      tick() {
        if (stopped) return;
        done++;
        bar.update(done);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
      },
    };
  }
  const t0 = performance.now();
  const started = alreadyDone;
  const width = String(total).length;
  return {
    tick(what) {
      done++;
      const secs = (performance.now() - t0) / 1000;
      const rate = (done - started) / secs;
      const eta = rate > 0 ? Math.round((total - done) / rate) : 0;
      stream.write(`${label}: ${String(done).padStart(width)}/${total} ${what}; about ${eta} s left\n`);
    },
    stop() {},
  };
}
