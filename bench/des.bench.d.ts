export default function desBench(): Promise<string>;
