export default function bench(): Promise<string>;
