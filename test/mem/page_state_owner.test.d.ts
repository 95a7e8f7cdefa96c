/** Lines that write page state outside the owner. */
export declare function pageStateWriters(files: Array<[string, string]>): string[];
