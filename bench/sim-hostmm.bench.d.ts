export default function simHostMmBench(): Promise<string>;
