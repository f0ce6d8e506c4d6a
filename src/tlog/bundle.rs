//! C2SP entry bundles: each entry as a big-endian uint16 length followed by its bytes.
//! claimledger's entries are the 32 raw bytes of each revision's entry_hash.

use super::tile::TILE_WIDTH;

/// Largest entry a bundle can carry.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// Why a bundle could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("entry {index} is {len} bytes; a bundle entry is at most 65,535")]
    EntryTooLong { index: usize, len: usize },
    #[error("a bundle holds at most 256 entries, got more")]
    TooManyEntries,
    #[error("bundle is truncated in entry {index} at byte {offset}")]
    Truncated { index: usize, offset: usize },
    #[error("bundle has {got} entries, {want} were expected")]
    WrongCount { got: usize, want: usize },
}

/// Encodes up to 256 entries as a bundle.
pub fn encode_entry_bundle<'a, I>(entries: I) -> Result<Vec<u8>, BundleError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut out = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        if index as u64 >= TILE_WIDTH {
            return Err(BundleError::TooManyEntries);
        }
        let len = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLong { index, len: entry.len() })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Splits a bundle into its entries, borrowing from `data`.
pub fn parse_entry_bundle(data: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut entries = Vec::new();
    let mut offset = 0usize;
    while offset < data.len() {
        let index = entries.len();
        if index as u64 >= TILE_WIDTH {
            return Err(BundleError::TooManyEntries);
        }
        let len_bytes = data.get(offset..offset + 2).ok_or(BundleError::Truncated { index, offset })?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let entry = data
            .get(offset + 2..offset + 2 + len)
            .ok_or(BundleError::Truncated { index, offset })?;
        entries.push(entry);
        offset += 2 + len;
    }
    Ok(entries)
}

/// Parses a bundle and checks it has the `width` the path promised.
pub fn parse_entry_bundle_of_width(data: &[u8], width: u16) -> Result<Vec<&[u8]>, BundleError> {
    let entries = parse_entry_bundle(data)?;
    if entries.len() != usize::from(width) {
        return Err(BundleError::WrongCount {
            got: entries.len(),
            want: usize::from(width),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_the_length_prefix_layout() {
        let a = [7u8; 32];
        let b: [u8; 0] = [];
        let c = vec![1u8; 300];
        let bundle = encode_entry_bundle([&a[..], &b[..], &c[..]]).expect("encode");
        assert_eq!(&bundle[..2], &[0x00, 0x20]);
        assert_eq!(&bundle[34..36], &[0x00, 0x00]);
        assert_eq!(&bundle[36..38], &[0x01, 0x2c]);
        assert_eq!(bundle.len(), 2 + 32 + 2 + 2 + 300);
        assert_eq!(parse_entry_bundle(&bundle).expect("parse"), vec![&a[..], &b[..], &c[..]]);
        assert!(parse_entry_bundle_of_width(&bundle, 3).is_ok());
        assert_eq!(
            parse_entry_bundle_of_width(&bundle, 4),
            Err(BundleError::WrongCount { got: 3, want: 4 })
        );
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let big = vec![0u8; 65_536];
        assert_eq!(
            encode_entry_bundle([&big[..]]),
            Err(BundleError::EntryTooLong { index: 0, len: 65_536 })
        );
        let one = [0u8; 1];
        assert_eq!(
            encode_entry_bundle(std::iter::repeat_n(&one[..], 257)),
            Err(BundleError::TooManyEntries)
        );
        assert_eq!(parse_entry_bundle(&[0x00]), Err(BundleError::Truncated { index: 0, offset: 0 }));
        assert_eq!(
            parse_entry_bundle(&[0x00, 0x02, 0x01]),
            Err(BundleError::Truncated { index: 0, offset: 0 })
        );
        assert_eq!(
            parse_entry_bundle(&[0x00, 0x00, 0x00]),
            Err(BundleError::Truncated { index: 1, offset: 2 })
        );
        assert_eq!(parse_entry_bundle(&[]), Ok(vec![]));
    }
}
