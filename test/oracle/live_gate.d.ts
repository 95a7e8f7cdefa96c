export declare function liveSkipReason(): Promise<string | null>;
