export declare function runExploreFile(file: string): Promise<number>;
