//! Helpers the fuzz targets share.

/// Splits `len` bytes into the chunk sizes of successive reads, from `seed`: the same
/// input always gives the same split, and the fuzzer varies it through the seed bytes.
/// Sizes are 1 to 16 bytes mostly, sometimes up to 255, so headers and bodies are cut
/// everywhere.
pub fn read_sizes(seed: u32, len: usize) -> Vec<usize> {
    let mut state = seed | 1;
    let mut sizes = Vec::new();
    let mut left = len;
    while left > 0 {
        // xorshift32
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = if state & 0x700 == 0 {
            (state >> 16) as usize & 0xff
        } else {
            (state >> 16) as usize & 0xf
        };
        let n = n.clamp(1, left);
        sizes.push(n);
        left -= n;
    }
    sizes
}

/// A little-endian `u32` from the first 4 bytes (zero-padded), and the rest.
pub fn take_u32(data: &[u8]) -> (u32, &[u8]) {
    let mut b = [0u8; 4];
    let n = data.len().min(4);
    b[..n].copy_from_slice(&data[..n]);
    (u32::from_le_bytes(b), &data[n..])
}

/// The first byte (0 when empty), and the rest.
pub fn take_u8(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&b, rest)) => (b, rest),
        None => (0, data),
    }
}
