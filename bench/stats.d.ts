/** The median of `xs` (the mean of the two middle values for an even count). */
export declare const median: (xs: readonly number[]) => number;
/** A rate in millions, three decimals. */
export declare const mega: (x: number) => string;
