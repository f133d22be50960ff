//! The ```toml blocks of a documentation page, shared by the tests that keep pages from
//! drifting (each test file is its own crate, so they include this module).

/// The ```toml blocks of `doc`, with the line each starts on.
pub(crate) fn toml_blocks(doc: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```toml" => current = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "unterminated ```toml block");
    blocks
}
