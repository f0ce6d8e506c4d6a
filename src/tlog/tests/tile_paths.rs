//! C2SP tlog-tiles paths and the tiles of a tree, against the spec's own examples.

use crate::tlog::tile::{
    BundleId, TileId, TilePath, bundles_for_size, encode_index, parse_tile_path, tile_width, tiles_for_frontier, tiles_for_size,
};

fn t(level: u8, index: u64, width: u16) -> TileId {
    TileId { level, index, width }
}

#[test]
fn index_groups_as_in_the_spec() {
    assert_eq!(encode_index(0), "000");
    assert_eq!(encode_index(7), "007");
    assert_eq!(encode_index(999), "999");
    assert_eq!(encode_index(1000), "x001/000");
    assert_eq!(encode_index(1_234_067), "x001/x234/067");
    assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
}

#[test]
fn paths_round_trip() {
    for tile in [t(0, 0, 256), t(0, 1_234_067, 256), t(1, 5, 17), t(2, 0, 1), t(63, u64::MAX, 255)] {
        assert_eq!(parse_tile_path(&tile.path()), Ok(TilePath::Hashes(tile)), "{}", tile.path());
    }
    assert_eq!(t(1, 1_234_067, 7).path(), "tile/1/x001/x234/067.p/7");
    assert_eq!(t(0, 3, 256).path(), "tile/0/003");
    assert_eq!(t(0, 3, 256).go_path(), "tile/8/0/003");
    let b = BundleId {
        index: 1_234_067,
        width: 12,
    };
    assert_eq!(b.path(), "tile/entries/x001/x234/067.p/12");
    assert_eq!(parse_tile_path(&b.path()), Ok(TilePath::Entries(b)));
    assert_eq!(
        parse_tile_path("tile/entries/000"),
        Ok(TilePath::Entries(BundleId { index: 0, width: 256 }))
    );
}

#[test]
fn non_canonical_or_malformed_paths_are_refused_with_a_reason() {
    for (path, reason) in [
        ("tile/0/x000/001", "index is not canonically encoded"),
        ("tile/0/01", "an index group is not 3 digits"),
        ("tile/0/0001", "an index group is not 3 digits"),
        ("tile/0/001/002", "a leading index group lacks its x"),
        ("tile/0/x001", "an index group is not 3 digits"),
        ("tile/0/000.p/256", "partial width is not 1..255"),
        ("tile/0/000.p/0", "partial width is not 1..255"),
        ("tile/0/000.p/07", "partial width is not 1..255"),
        ("tile/0/000.p/", "partial width is not 1..255"),
        ("tile/64/000", "level is above 63"),
        ("tile/01/000", "level is not a decimal number"),
        ("tile/-1/000", "level is not a decimal number"),
        ("tile/data/000", "level is not a decimal number"),
        ("tile/8/0/000/x", "a leading index group lacks its x"),
        ("tiles/0/000", "does not start with tile/"),
        ("tile/0", "no tile index"),
        ("tile/0/x018/x446/x744/x073/x709/x551/616", "index overflows 64 bits"),
        ("tile/0/+01", "an index group is not 3 digits"),
    ] {
        let err = parse_tile_path(path).expect_err(path);
        assert_eq!(err.reason, reason, "{path}");
        assert!(err.to_string().contains(path), "{err}");
    }
}

/// "A tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0
/// tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
/// partial level 2 tile of width 1. A tree of size 256 will be represented by a full level 0
/// tile and a partial level 1 tile of width 1."
#[test]
fn the_tiles_of_the_specs_example_trees() {
    let tiles = tiles_for_size(70_000);
    let full0 = tiles.iter().filter(|x| x.level == 0 && x.is_full()).count();
    assert_eq!(full0, 273);
    let partial: Vec<_> = tiles.iter().filter(|x| !x.is_full()).copied().collect();
    assert_eq!(partial, vec![t(0, 273, 112), t(1, 1, 17), t(2, 0, 1)]);
    assert!(tiles.contains(&t(1, 0, 256)));
    assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
    assert_eq!(tiles_for_frontier(70_000), partial);

    assert_eq!(tiles_for_size(256), vec![t(0, 0, 256), t(1, 0, 1)]);
    assert_eq!(tiles_for_frontier(256), vec![t(1, 0, 1)]);
    assert!(tiles_for_size(0).is_empty());
    assert_eq!(
        bundles_for_size(513),
        vec![
            BundleId { index: 0, width: 256 },
            BundleId { index: 1, width: 256 },
            BundleId { index: 2, width: 1 }
        ]
    );
}

#[test]
fn widths_in_a_tree_of_a_given_size() {
    assert_eq!(tile_width(0, 273, 70_000), Some(112));
    assert_eq!(tile_width(0, 272, 70_000), Some(256));
    assert_eq!(tile_width(0, 274, 70_000), None);
    assert_eq!(tile_width(2, 0, 70_000), Some(1));
    assert_eq!(tile_width(3, 0, 70_000), None);
    assert_eq!(tile_width(63, 0, u64::MAX), None);
    assert_eq!(tile_width(0, u64::MAX, u64::MAX), None);
}
