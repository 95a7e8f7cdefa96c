export default function simBench(): Promise<string>;
