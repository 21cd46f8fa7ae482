//! Lists read a page at a time, newest first: one rule for how large a page is.

/// Most rows one page holds, in every list.
pub const MAX_PAGE_LIMIT: u32 = 100;

/// The page size asked for, within `1..=MAX_PAGE_LIMIT` (0: the list's `default`).
pub fn page_size(limit: u32, default: u32) -> u32 {
    match limit {
        0 => default,
        n => n.min(MAX_PAGE_LIMIT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_the_default_or_capped() {
        assert_eq!(page_size(0, 20), 20);
        assert_eq!(page_size(5, 20), 5);
        assert_eq!(page_size(10_000, 20), MAX_PAGE_LIMIT);
    }
}
