//! The event stream both writers walk, bounded so that no input can make a writer's output
//! or its structure grow faster than the input. GitHub accepts an issue body of 65,536
//! characters, enough for 30,000 nested list markers (`* * * … text`); written out as
//! nested ADF nodes that overflows the stack when serialised or dropped, and as wiki list
//! prefixes (`***…*`, one marker per level on every line) it grows quadratically.
//!
//! So block containers (lists, list items, block quotes) deeper than [`MAX_BLOCK_DEPTH`]
//! and inline effects (emphasis, strong, strikethrough) deeper than [`MAX_INLINE_DEPTH`]
//! are flattened: their start and end events are dropped, their text stays, in order, in
//! the deepest container allowed. A flattened list item begins on a new line. The writer
//! then appends [`FLATTENED_NOTE`], so a reader knows the shape was simplified.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::options;

/// Deepest nesting of lists, list items and quotes kept as structure. Jira's editor itself
/// stops indenting long before; eight lists (with their items) is more than any real text.
pub const MAX_BLOCK_DEPTH: usize = 16;

/// Deepest nesting of inline effects kept (`***~~x~~***` is three).
pub const MAX_INLINE_DEPTH: usize = 8;

/// The visible note added when structure was flattened.
pub const FLATTENED_NOTE: &str = "(council-sync: nesting deeper than Jira can show was flattened; the GitHub issue has the original.)";

/// Parser events of `md`, with over-deep nesting dropped (see the module note).
pub(super) struct Bounded<'a> {
    parser: Parser<'a>,
    /// Open block containers, kept or dropped.
    blocks: Vec<bool>,
    kept_blocks: usize,
    /// Open inline effects, kept or dropped.
    inlines: Vec<bool>,
    kept_inlines: usize,
    /// Whether anything was dropped.
    pub flattened: bool,
    /// A dropped item started after text: the next text begins on a new line.
    break_due: bool,
    /// Text was written since the last break.
    text_seen: bool,
    /// An event held back while its line break is returned.
    held: Option<Event<'a>>,
}

impl<'a> Bounded<'a> {
    /// Parses `md` in GitHub's dialect.
    pub(super) fn new(md: &'a str) -> Self {
        Self {
            parser: Parser::new_ext(md, options()),
            blocks: Vec::new(),
            kept_blocks: 0,
            inlines: Vec::new(),
            kept_inlines: 0,
            flattened: false,
            break_due: false,
            text_seen: false,
            held: None,
        }
    }

    /// Handles a container start; `None` when it is dropped (a dropped item's text starts
    /// on a new line, so it does not run into the previous item's).
    fn open_block(&mut self, event: Event<'a>, is_item: bool) -> Option<Event<'a>> {
        let keep = self.kept_blocks < MAX_BLOCK_DEPTH;
        self.blocks.push(keep);
        if keep {
            self.kept_blocks += 1;
            self.text_seen = false;
            Some(event)
        } else {
            self.flattened = true;
            self.break_due |= is_item && self.text_seen;
            None
        }
    }

    fn close_block(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        match self.blocks.pop() {
            Some(true) => {
                self.kept_blocks -= 1;
                Some(event)
            }
            Some(false) => None,
            None => Some(event),
        }
    }

    fn open_inline(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        let keep = self.kept_inlines < MAX_INLINE_DEPTH;
        self.inlines.push(keep);
        if keep {
            self.kept_inlines += 1;
            Some(event)
        } else {
            self.flattened = true;
            None
        }
    }

    fn close_inline(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        match self.inlines.pop() {
            Some(true) => {
                self.kept_inlines -= 1;
                Some(event)
            }
            Some(false) => None,
            None => Some(event),
        }
    }

    fn filter(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        match &event {
            Event::Start(Tag::List(_) | Tag::BlockQuote(_)) => self.open_block(event, false),
            Event::Start(Tag::Item) => self.open_block(event, true),
            Event::End(TagEnd::List(_) | TagEnd::BlockQuote(_) | TagEnd::Item) => {
                self.close_block(event)
            }
            Event::Start(Tag::Emphasis | Tag::Strong | Tag::Strikethrough) => {
                self.open_inline(event)
            }
            Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough) => {
                self.close_inline(event)
            }
            Event::Start(_) | Event::End(_) => {
                self.break_due = false;
                Some(event)
            }
            _ => {
                self.text_seen = true;
                if std::mem::take(&mut self.break_due) {
                    self.held = Some(event);
                    Some(Event::HardBreak)
                } else {
                    Some(event)
                }
            }
        }
    }
}

impl<'a> Iterator for Bounded<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(held) = self.held.take() {
            return Some(held);
        }
        loop {
            let event = self.parser.next()?;
            if let Some(kept) = self.filter(event) {
                return Some(kept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of(md: &str) -> (usize, bool) {
        let mut b = Bounded::new(md);
        let (mut depth, mut max) = (0usize, 0usize);
        for e in b.by_ref() {
            match e {
                Event::Start(Tag::List(_) | Tag::Item | Tag::BlockQuote(_)) => {
                    depth += 1;
                    max = max.max(depth);
                }
                Event::End(TagEnd::List(_) | TagEnd::Item | TagEnd::BlockQuote(_)) => {
                    depth -= 1;
                }
                _ => {}
            }
        }
        assert_eq!(depth, 0, "balanced");
        (max, b.flattened)
    }

    #[test]
    fn shallow_documents_pass_unchanged() {
        assert_eq!(depth_of("- a\n  - b\n> q"), (4, false));
    }

    #[test]
    fn deep_lists_and_quotes_are_cut_at_the_bound() {
        let lists = "* ".repeat(30_000) + "retry budget";
        assert_eq!(depth_of(&lists), (MAX_BLOCK_DEPTH, true));
        let quotes = "> ".repeat(30_000) + "retry budget";
        assert_eq!(depth_of(&quotes), (MAX_BLOCK_DEPTH, true));
        let mixed = "> - ".repeat(10_000) + "x";
        assert_eq!(depth_of(&mixed), (MAX_BLOCK_DEPTH, true));
    }
}
