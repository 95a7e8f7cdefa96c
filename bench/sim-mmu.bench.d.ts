export default function simMmuBench(): Promise<string>;
