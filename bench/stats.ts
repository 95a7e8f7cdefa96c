// Small helpers the simulator benches share.

/** The median of `xs` (the mean of the two middle values for an even count). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A rate in millions, three decimals. */
export const mega = (x: number): string => `${(x / 1e6).toFixed(3)} M`;
