//! Delivery bodies as the inbox stores them: LZ4-compressed, marked by a prefix.
//!
//! Why: the ingest profile of issue 13 (`perf record -g` on the daemon, 64 senders) spent
//! 41 % of the daemon's samples on SQLite's worker threads, and 45 % of those in `pwrite`
//! of WAL frames (26 % in the kernel copying them into the page cache): a 14 KB delivery
//! is a 16 KB leaf page of its own in every commit. JSON webhooks compress 3–10× with LZ4
//! (GitHub's repeat the same URL prefixes dozens of times), so several deliveries share a
//! page and a commit writes a fraction of the bytes. LZ4 because it compresses at hundreds
//! of MB/s and decompresses faster still: a 14 KB body costs a few microseconds each way,
//! less than the page copies it saves.
//!
//! Format: [`MAGIC`] followed by LZ4's block format with the uncompressed size prepended
//! (`lz4_flex::block::compress_prepend_size`). Anything else is the body as received: every row
//! stored before this format existed (no migration needed: both read back the same), and a
//! body that would not get smaller. A body as received is JSON, so it never starts with the
//! NUL byte that begins the marker; one that did would be stored compressed all the same,
//! so what is read back is always what came in.

use super::StoreError;

/// The prefix of a compressed body: NUL (never the first byte of a JSON text) and `lz4`.
const MAGIC: &[u8] = b"\0lz4";

/// Largest body a compressed row may claim to expand to: above anything the webhook route
/// accepts (`server::MAX_WEBHOOK_BODY`) and GitHub's own 25 MB cap on payloads, so a
/// corrupt size never makes the engine allocate gigabytes.
const MAX_UNPACKED: usize = 32 * 1024 * 1024;

/// `body` as the inbox stores it: compressed when that makes it smaller (or when it starts
/// with [`MAGIC`] itself), as received otherwise.
pub(crate) fn pack(body: &[u8]) -> Vec<u8> {
    let compressed = lz4_flex::block::compress_prepend_size(body);
    if compressed.len() + MAGIC.len() < body.len() || body.starts_with(MAGIC) {
        let mut out = Vec::with_capacity(MAGIC.len() + compressed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&compressed);
        out
    } else {
        body.to_vec()
    }
}

/// The body as received from a stored row (`Corrupt` when a compressed row does not
/// decompress, or claims more than [`MAX_UNPACKED`]).
pub(crate) fn unpack(stored: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let Some(block) = stored.strip_prefix(MAGIC) else {
        return Ok(stored);
    };
    let corrupt = |reason: String| StoreError::Corrupt {
        what: "stored delivery body",
        reason,
    };
    let (size, data) =
        lz4_flex::block::uncompressed_size(block).map_err(|e| corrupt(e.to_string()))?;
    if size > MAX_UNPACKED {
        return Err(corrupt(format!(
            "claims {size} bytes uncompressed, more than {MAX_UNPACKED}"
        )));
    }
    let mut out = vec![0; size];
    let n = lz4_flex::block::decompress_into(data, &mut out).map_err(|e| corrupt(e.to_string()))?;
    if n != size {
        return Err(corrupt(format!("{n} bytes decompressed, {size} announced")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every shared GitHub fixture comes back byte for byte, compressed (each is JSON with
    /// repeated URLs: all get smaller).
    #[test]
    fn real_deliveries_come_back_exactly_and_smaller() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/github-webhooks");
        let dir = if dir.exists() {
            dir
        } else {
            std::path::PathBuf::from("/work/shared/fixtures/github-webhooks")
        };
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let body = std::fs::read(&path).expect("fixture");
            let stored = pack(&body);
            assert!(stored.starts_with(MAGIC), "{}", path.display());
            assert!(stored.len() < body.len(), "{}", path.display());
            assert_eq!(unpack(stored).expect("unpack"), body, "{}", path.display());
            seen += 1;
        }
        assert!(seen > 0, "no fixtures in {}", dir.display());
    }

    /// Rows stored before the format existed (the body as received) read back unchanged.
    #[test]
    fn rows_stored_raw_read_back_as_they_are() {
        let old = br#"{"action":"edited","issue":{"number":1}}"#.to_vec();
        assert_eq!(unpack(old.clone()).expect("raw"), old);
        assert_eq!(unpack(Vec::new()).expect("empty"), Vec::<u8>::new());
        // Too short to gain: stored as received.
        assert_eq!(pack(b"{}"), b"{}");
    }

    /// A compressed row that is cut short, garbled or claims a huge size is an error,
    /// never a panic or a huge allocation.
    #[test]
    fn corrupt_rows_are_errors() {
        let body = vec![b'a'; 10_000];
        let stored = pack(&body);
        for cut in [MAGIC.len(), MAGIC.len() + 2, stored.len() - 3] {
            assert!(
                matches!(
                    unpack(stored[..cut].to_vec()),
                    Err(StoreError::Corrupt { .. })
                ),
                "cut at {cut}"
            );
        }
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(b"\x10a");
        assert!(matches!(unpack(huge), Err(StoreError::Corrupt { .. })));
    }

    proptest! {
        /// Whatever the body (including one that starts like the marker), what is
        /// unpacked is what was packed.
        #[test]
        fn what_is_packed_unpacks_to_itself(
            body in proptest::collection::vec(any::<u8>(), 0..4096),
            marked in any::<bool>(),
            repeat in 1usize..8,
        ) {
            let mut body = body.repeat(repeat);
            if marked {
                body.splice(0..0, MAGIC.iter().copied());
            }
            prop_assert_eq!(unpack(pack(&body)).expect("unpack"), body);
        }
    }
}
