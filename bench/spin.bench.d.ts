export default function spinBench(): Promise<string>;
