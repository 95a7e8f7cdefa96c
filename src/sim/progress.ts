// A progress bar for long simulations (cli-progress), shown only on a terminal and only once a run has
// taken more than a second of wall time. Wall time is for the display alone: it never reaches the
// simulation, which stays a function of the scenario and the seed.
import cliProgress from 'cli-progress';

export interface Progress {
  /** fraction in [0, 1] of virtual time done. */
  update: (fraction: number) => void;
  stop: () => void;
}

export function startProgress(label: string): Progress | null {
  if (!process.stderr.isTTY) return null;
  const t0 = performance.now();
  let bar: cliProgress.SingleBar | null = null;
  let stopped = false;
  return {
    update(fraction) {
      if (stopped) return;
      if (bar === null) {
        if (performance.now() - t0 < 1000) return;
        bar = new cliProgress.SingleBar(
          {
            format: `${label} [{bar}] {percentage}% | {eta_formatted} left`,
            stream: process.stderr,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(1000, 0);
      }
      bar.update(Math.min(1000, Math.round(fraction * 1000)));
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (bar !== null) {
        bar.update(1000);
        bar.stop();
      }
    },
  };
}
