// Browser host: bytes of a data file by URL (relative paths resolve against the page, where Vite serves data/).
export async function fetchDataFile(pathOrUrl: string): Promise<Uint8Array> {
  const response = await fetch(new URL(pathOrUrl, document.baseURI));
  if (!response.ok) throw new Error(`${pathOrUrl}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}
