// CRC-32 (IEEE 802.3, the polynomial of zip, gzip and PNG), over any number of byte arrays in turn. A checkpoint
// carries the CRC of its contents so that a flipped byte anywhere in it is found before it is used. Written
// here, not taken from a package: it is a dozen lines, must run synchronously in Node and in the browser
// alike (Web Crypto's digests are asynchronous), and guards against corruption, not forgery.
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const bytes of parts) for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
