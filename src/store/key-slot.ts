/** CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with, one table lookup per byte. */
const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let bit = 0; bit < 8; bit++) crc = (crc & 0x8000) !== 0 ? (crc << 1) ^ 0x1021 : crc << 1
  TABLE[i] = crc & 0xffff
}

/**
 * The Cluster slot of `key` (0-16383), as Redis computes it: of the part between the first `{` and the
 * next `}` when that part is not empty (a hash tag), else of the whole key, as UTF-8 bytes. A script may
 * touch several keys on a Cluster only when they share a slot.
 */
export function keySlot (key: string): number {
  const open = key.indexOf('{')
  let hashed = key
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) hashed = key.slice(open + 1, close)
  }
  let crc = 0
  for (const byte of Buffer.from(hashed, 'utf8')) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] as number)
  return crc & 0x3fff
}
