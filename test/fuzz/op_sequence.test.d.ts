export declare const SEED = 20261207;
