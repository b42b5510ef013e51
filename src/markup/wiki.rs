//! Markdown → Jira wiki markup (Data Center, REST v2). Wiki markup has no "text" type:
//! whatever the author typed is markup unless escaped. So every character that can start
//! markup is written escaped: `{ } [ ] |` always, `* _ - + ^ ~` unless it sits between two
//! letters or two spaces (where Jira never reads it as an effect), `?` when doubled, `#`
//! unless after a letter, `!` unless followed by a space, `hN.`/`bq.` at a line start with
//! the dot as `&#46;`, and a backslash as `&#92;` (a backslash cannot be escaped and `\\`
//! is a line break). Where escaping is impossible (a `{code}` block holding `{code`, a link
//! target with `|` or `]`) the writer falls back to `{noformat}` or to plain text.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Tag, TagEnd};

use super::bounded::{Bounded, FLATTENED_NOTE};
use super::{is_html_comment, safe_href, task_marker};

/// Converts Markdown into Jira wiki markup. Nesting beyond the bounds of
/// [`super::bounded`] is flattened, with a note at the end, so the output stays linear.
pub(super) fn convert(md: &str) -> String {
    let mut w = Writer::default();
    let mut pending = String::new();
    let mut events = Bounded::new(md);
    for event in events.by_ref() {
        // pulldown-cmark splits text at special characters; escaping needs whole runs.
        if let Event::Text(t) = &event
            && w.raw.is_none()
        {
            pending.push_str(t);
            continue;
        }
        if !pending.is_empty() {
            w.text(&std::mem::take(&mut pending));
        }
        w.event(event);
    }
    if !pending.is_empty() {
        w.text(&pending);
    }
    let mut out = w.out.trim_end().to_owned();
    if events.flattened {
        out.push_str("\n\n_");
        out.push_str(&escape(FLATTENED_NOTE, true));
        out.push('_');
    }
    out
}

/// Code languages Jira's `{code}` macro highlights; others use `{noformat}`, because an
/// unknown language makes Jira render an error panel.
const JIRA_LANGUAGES: [(&str, &str); 24] = [
    ("bash", "bash"),
    ("sh", "bash"),
    ("shell", "bash"),
    ("c", "c"),
    ("cpp", "cpp"),
    ("c++", "cpp"),
    ("csharp", "c#"),
    ("cs", "c#"),
    ("css", "css"),
    ("go", "go"),
    ("groovy", "groovy"),
    ("html", "html"),
    ("java", "java"),
    ("javascript", "javascript"),
    ("js", "javascript"),
    ("json", "json"),
    ("php", "php"),
    ("python", "python"),
    ("py", "python"),
    ("ruby", "ruby"),
    ("scala", "scala"),
    ("sql", "sql"),
    ("xml", "xml"),
    ("yaml", "yaml"),
];

/// Characters that end a link target in wiki markup or break it; such targets are shown
/// as text instead.
const UNSAFE_IN_LINK: [char; 11] = ['|', '[', ']', '{', '}', '<', '>', '"', '^', '`', '\\'];

/// Text of a block that is copied, not parsed: code or raw HTML.
#[derive(Debug)]
enum Raw {
    Code {
        language: Option<String>,
        text: String,
    },
    Html(String),
}

/// An open link or image: where its text starts in `out`, and its target if allowed.
#[derive(Debug)]
struct OpenLink {
    start: usize,
    href: Option<String>,
}

#[derive(Debug, Default)]
struct Writer {
    out: String,
    /// Markers of the open lists, outermost first: `*` bullets, `#` numbers.
    lists: Vec<char>,
    /// Per open list item: whether it has text yet (a second paragraph needs a break).
    items: Vec<bool>,
    quote_depth: usize,
    /// Inline effects open: the marker and `out`'s length right after writing it.
    styles: Vec<(&'static str, usize)>,
    links: Vec<OpenLink>,
    raw: Option<Raw>,
    /// A heading inside a list, written as bold text.
    bold_heading: bool,
    in_heading: bool,
    /// The last thing written was an opening `{quote}` line.
    after_tag_line: bool,
    /// The table being written, if any.
    table: Option<TableState>,
}

/// A table in progress. Wiki tables are lines of their own (`||head||` and `|cell|`); in a
/// list item, which is one line, rows are written inline instead.
#[derive(Debug)]
struct TableState {
    inline: bool,
    head: bool,
    /// Cells written in the current row.
    cells: usize,
    rows: usize,
    /// `out`'s length where the current cell's text starts.
    cell_start: usize,
}

impl Writer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(&t),
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => self.code_span(&t),
            Event::Html(t) => match self.raw.as_mut() {
                Some(Raw::Html(html)) => html.push_str(&t),
                _ if is_html_comment(&t) => {}
                _ => self.text(&t),
            },
            Event::InlineHtml(t) => {
                if !is_html_comment(&t) {
                    self.text(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => self.line_break(),
            Event::Rule => {
                if self.items.is_empty() {
                    self.separate();
                    self.push("----");
                }
            }
            Event::TaskListMarker(checked) => self.push(task_marker(checked)),
            Event::FootnoteReference(t) => self.text(&format!("[{t}]")),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.block_start(),
            Tag::Heading { level, .. } => {
                self.block_start();
                self.in_heading = true;
                if self.items.is_empty() {
                    self.push(&format!("h{}. ", heading_number(level)));
                } else {
                    self.bold_heading = true;
                    self.open_style("*");
                }
            }
            Tag::BlockQuote(_) => {
                self.quote_depth += 1;
                if self.quote_depth == 1 {
                    self.separate();
                    self.push("{quote}\n");
                    self.after_tag_line = true;
                }
            }
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().map(str::to_owned)
                    }
                    CodeBlockKind::Indented => None,
                };
                self.raw = Some(Raw::Code {
                    language,
                    text: String::new(),
                });
            }
            Tag::HtmlBlock => self.raw = Some(Raw::Html(String::new())),
            Tag::List(start) => {
                if self.items.is_empty() {
                    self.separate();
                }
                self.lists.push(if start.is_some() { '#' } else { '*' });
            }
            Tag::Item => {
                if !self.out.is_empty() && !self.out.ends_with('\n') {
                    self.push("\n");
                }
                let markers: String = self.lists.iter().collect();
                self.push(&format!("{markers} "));
                self.items.push(false);
            }
            Tag::Table(_) => {
                let inline = !self.items.is_empty();
                if inline {
                    self.block_start();
                } else {
                    self.separate();
                }
                self.table = Some(TableState {
                    inline,
                    head: false,
                    cells: 0,
                    rows: 0,
                    cell_start: 0,
                });
            }
            Tag::TableHead | Tag::TableRow => self.start_row(matches!(tag, Tag::TableHead)),
            Tag::TableCell => self.start_cell(),
            Tag::Emphasis => self.open_style("_"),
            Tag::Strong => self.open_style("*"),
            Tag::Strikethrough => self.open_style("-"),
            Tag::Link {
                link_type,
                dest_url,
                ..
            }
            | Tag::Image {
                link_type,
                dest_url,
                ..
            } => {
                let href = safe_href(&dest_url, link_type);
                self.links.push(OpenLink {
                    start: self.out.len(),
                    href,
                });
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                if self.bold_heading {
                    self.close_style();
                    self.bold_heading = false;
                }
                self.in_heading = false;
            }
            TagEnd::BlockQuote(_) => {
                self.quote_depth = self.quote_depth.saturating_sub(1);
                if self.quote_depth == 0 {
                    self.newline();
                    self.push("{quote}");
                }
            }
            TagEnd::CodeBlock | TagEnd::HtmlBlock => self.close_raw(),
            TagEnd::List(_) => {
                self.lists.pop();
            }
            TagEnd::Item => {
                self.items.pop();
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => self.close_style(),
            TagEnd::Link | TagEnd::Image => self.close_link(),
            TagEnd::TableCell => self.end_cell(),
            TagEnd::TableHead | TagEnd::TableRow => self.end_row(),
            TagEnd::Table => self.table = None,
            _ => {}
        }
    }

    fn start_row(&mut self, head: bool) {
        let Some(table) = self.table.as_mut() else {
            return;
        };
        let (inline, rows) = (table.inline, table.rows);
        table.head = head;
        table.cells = 0;
        table.rows += 1;
        if inline && rows > 0 {
            self.push(" \\\\ ");
        } else if !inline {
            self.newline();
        }
    }

    fn start_cell(&mut self) {
        let Some(table) = self.table.as_ref() else {
            return;
        };
        let marker = match (table.inline, table.head) {
            (true, _) if table.cells == 0 => "",
            (true, _) => " \\| ",
            (false, true) => "||",
            (false, false) => "|",
        };
        self.push(marker);
        let len = self.out.len();
        if let Some(table) = self.table.as_mut() {
            table.cells += 1;
            table.cell_start = len;
        }
    }

    /// An empty cell needs a space, or Jira merges it with the next separator.
    fn end_cell(&mut self) {
        if let Some(table) = self.table.as_ref()
            && !table.inline
            && self.out.len() == table.cell_start
        {
            self.push(" ");
        }
    }

    fn end_row(&mut self) {
        let closing = match self.table.as_ref() {
            Some(t) if !t.inline && t.head => "||",
            Some(t) if !t.inline => "|",
            _ => return,
        };
        self.push(closing);
    }

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
        self.after_tag_line = false;
    }

    fn newline(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.push("\n");
        }
    }

    /// A blank line before a new top-level block (none at the start or after `{quote}`).
    fn separate(&mut self) {
        if self.out.is_empty() || self.after_tag_line {
            return;
        }
        while !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Starts a paragraph-like block: a forced line break inside a list item that already
    /// has text (list items are one line in wiki markup), else a blank line.
    fn block_start(&mut self) {
        match self.items.last_mut() {
            Some(has_text) if *has_text => self.push(" \\\\ "),
            Some(has_text) => *has_text = true,
            None => self.separate(),
        }
    }

    fn line_break(&mut self) {
        if let Some(raw) = self.raw.as_mut() {
            match raw {
                Raw::Code { text, .. } | Raw::Html(text) => text.push('\n'),
            }
        } else if self.in_heading || !self.links.is_empty() {
            self.push(" ");
        } else if self.items.is_empty() {
            self.push("\n");
        } else {
            self.push(" \\\\ ");
        }
    }

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    /// Writes the author's text, escaped.
    fn text(&mut self, t: &str) {
        if let Some(raw) = self.raw.as_mut() {
            match raw {
                Raw::Code { text, .. } | Raw::Html(text) => text.push_str(t),
            }
            return;
        }
        if let Some(has_text) = self.items.last_mut() {
            *has_text = true;
        }
        let escaped = escape(t, self.at_line_start());
        self.push(&escaped);
    }

    fn code_span(&mut self, t: &str) {
        if t.trim().is_empty() {
            self.text(t);
        } else {
            let escaped = escape(t, false);
            self.push(&format!("{{{{{escaped}}}}}"));
        }
    }

    fn open_style(&mut self, marker: &'static str) {
        self.push(marker);
        self.styles.push((marker, self.out.len()));
    }

    /// Closes an effect; an empty one is removed, trailing spaces move outside the marker
    /// (Jira does not close an effect after a space).
    fn close_style(&mut self) {
        let Some((marker, opened_at)) = self.styles.pop() else {
            return;
        };
        if self.out.len() == opened_at {
            self.out.truncate(opened_at - marker.len());
            return;
        }
        let trimmed_len = self.out.trim_end_matches(' ').len().max(opened_at);
        let spaces = self.out.split_off(trimmed_len);
        if self.out.len() == opened_at {
            self.out.truncate(opened_at - marker.len());
        } else {
            self.out.push_str(marker);
        }
        self.out.push_str(&spaces);
    }

    /// `[text|url]` when the target is allowed and cannot break out of the link; else the
    /// text, followed by the address as text when it is a web or mail address.
    fn close_link(&mut self) {
        let Some(link) = self.links.pop() else {
            return;
        };
        let text = self.out.split_off(link.start.min(self.out.len()));
        let text = text.replace('\n', " ");
        let Some(href) = link.href else {
            self.push(&text);
            return;
        };
        let href_safe = !href
            .chars()
            .any(|c| c.is_whitespace() || UNSAFE_IN_LINK.contains(&c));
        let text_safe = !text.contains(['|', '[', ']']);
        let bare = text.trim().is_empty() || text == href;
        let rendered = match (href_safe && text_safe, bare) {
            (true, true) => format!("[{href}]"),
            (true, false) => format!("[{text}|{href}]"),
            (false, true) => escape(&href, false),
            (false, false) => format!("{text} ({})", escape(&href, false)),
        };
        self.push(&rendered);
    }

    fn close_raw(&mut self) {
        match self.raw.take() {
            Some(Raw::Code { language, text }) => {
                let code = text.strip_suffix('\n').unwrap_or(&text);
                if code.is_empty() {
                    return;
                }
                if self.items.is_empty() {
                    self.separate();
                } else {
                    self.newline();
                }
                let block = code_block(code, language.as_deref());
                self.push(&block);
            }
            Some(Raw::Html(html)) => {
                if is_html_comment(&html) || html.trim().is_empty() {
                    return;
                }
                self.block_start();
                let lines: Vec<String> = html
                    .trim_end()
                    .lines()
                    .map(|line| escape(line, true))
                    .collect();
                self.push(&lines.join("\n"));
            }
            None => {}
        }
    }
}

fn heading_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// A code block in the first wrapper whose closing tag the code does not contain; when it
/// contains both, escaped text line by line.
fn code_block(code: &str, language: Option<&str>) -> String {
    let lower = code.to_lowercase();
    let (has_code, has_noformat) = (lower.contains("{code"), lower.contains("{noformat"));
    let language = language.and_then(|l| {
        let l = l.to_lowercase();
        JIRA_LANGUAGES
            .iter()
            .find(|(md, _)| *md == l)
            .map(|(_, jira)| *jira)
    });
    match language {
        Some(language) if !has_code => format!("{{code:{language}}}\n{code}\n{{code}}"),
        _ if !has_noformat => format!("{{noformat}}\n{code}\n{{noformat}}"),
        _ if !has_code => format!("{{code}}\n{code}\n{{code}}"),
        _ => code
            .lines()
            .map(|line| escape(line, true))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// `text` with everything that Jira could read as markup escaped. `at_line_start`: the
/// text begins a line, where `hN.`, `bq.`, lists, tables and rules are recognised.
fn escape(text: &str, at_line_start: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut line_start = at_line_start;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if line_start && let Some(prefix) = block_prefix(&chars[i..]) {
            out.push_str(&prefix);
            out.push_str("&#46;");
            i += prefix.chars().count() + 1;
            line_start = false;
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        match c {
            '\\' => out.push_str("&#92;"),
            // Emoticons: `(x)`, `(on)`, `(*r)`, `(flagoff)`…, and `:) :( :P :D ;)`.
            '(' if emoticon_after(&chars[i + 1..]) => out.push_str("&#40;"),
            ':' if next.is_some_and(|n| matches!(n, ')' | '(' | 'P' | 'p' | 'D' | 'd')) => {
                out.push_str("&#58;")
            }
            ';' if next.is_some_and(|n| matches!(n, ')' | '(' | 'P' | 'p' | 'D' | 'd')) => {
                out.push_str("&#59;")
            }
            // An entity the author typed (`&amp;`, `&#40;`) is shown as typed.
            '&' if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#') => {
                out.push_str("&#38;")
            }
            '{' | '}' | '[' | ']' | '|' => push_escaped(&mut out, c),
            '!' if !next.is_some_and(char::is_whitespace) => push_escaped(&mut out, c),
            '?' if prev == Some('?') || next == Some('?') => push_escaped(&mut out, c),
            '#' if !prev.is_some_and(char::is_alphanumeric) => push_escaped(&mut out, c),
            '*' | '_' | '-' | '+' | '^' | '~' if !inert(prev, next) => push_escaped(&mut out, c),
            '\r' => {}
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
        line_start = c == '\n' || (line_start && (c == ' ' || c == '\t'));
        i += 1;
    }
    out
}

/// Longest emoticon name Jira knows (`flagoff`).
const MAX_EMOTICON_CHARS: usize = 7;

/// Whether `rest` (what follows a `(`) completes an emoticon: up to seven letters or
/// `* / ! + ? -`, then `)`. Broader than Jira's list, so a new emoticon is covered too.
fn emoticon_after(rest: &[char]) -> bool {
    let name = rest
        .iter()
        .take(MAX_EMOTICON_CHARS + 1)
        .take_while(|c| c.is_ascii_alphabetic() || matches!(c, '*' | '/' | '!' | '+' | '?' | '-'))
        .count();
    (1..=MAX_EMOTICON_CHARS).contains(&name) && rest.get(name) == Some(&')')
}

fn push_escaped(out: &mut String, c: char) {
    out.push('\\');
    out.push(c);
}

/// A text-effect character Jira never reads as markup here: between two letters or
/// digits (`on-call`, `snake_case`), or between two spaces (`a - b`).
fn inert(prev: Option<char>, next: Option<char>) -> bool {
    match (prev, next) {
        (Some(p), Some(n)) => {
            (p.is_alphanumeric() && n.is_alphanumeric()) || (p.is_whitespace() && n.is_whitespace())
        }
        _ => false,
    }
}

/// `hN` or `bq` when `chars` starts with a line-start block signature (`h1.`, `bq.`).
fn block_prefix(chars: &[char]) -> Option<String> {
    match chars {
        [h, d @ '1'..='6', '.', ..] if h.eq_ignore_ascii_case(&'h') => Some(format!("{h}{d}")),
        [b, q, '.', ..] if b.eq_ignore_ascii_case(&'b') && q.eq_ignore_ascii_case(&'q') => {
            Some(format!("{b}{q}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructs() {
        let cases = [
            ("# One\n\n###### Six", "h1. One\n\nh6. Six"),
            (
                "para one\nline two\n\npara two",
                "para one\nline two\n\npara two",
            ),
            (
                "**bold** _em_ ~~gone~~ `mono`",
                "*bold* _em_ -gone- {{mono}}",
            ),
            ("- a\n- b\n  1. c\n  2. d", "* a\n* b\n*# c\n*# d"),
            ("1. one\n2. two", "# one\n# two"),
            ("- [ ] todo\n- [x] done", "* ☐ todo\n* ☑ done"),
            ("- a\n\n  second para", "* a \\\\ second para"),
            ("- ## Heading in list", "* *Heading in list*"),
            (
                "[site](https://x.example/a?b=c)",
                "[site|https://x.example/a?b=c]",
            ),
            ("<https://x.example>", "[https://x.example]"),
            (
                "<sre@example.com>",
                "[sre@example.com|mailto:sre@example.com]",
            ),
            (
                "![diagram](https://x.example/d.png)",
                "[diagram|https://x.example/d.png]",
            ),
            ("> quoted\n>\n> more", "{quote}\nquoted\n\nmore\n{quote}"),
            (
                "```python\nprint(1)\n```",
                "{code:python}\nprint(1)\n{code}",
            ),
            ("```\nplain\n```", "{noformat}\nplain\n{noformat}"),
            (
                "```rust\nfn x() {}\n```",
                "{noformat}\nfn x() {}\n{noformat}",
            ),
            ("a\n\n---\n\nb", "a\n\n----\n\nb"),
            ("<!-- hidden marker -->\n\nshown", "shown"),
            ("a ** ** b", "a \\*\\* \\*\\* b"),
        ];
        for (md, want) in cases {
            assert_eq!(convert(md), want, "{md:?}");
        }
    }

    #[test]
    fn words_keep_their_punctuation() {
        assert_eq!(
            convert("on-call for snake_case, a - b, C# and 2+2. Why? Fine! Yes."),
            "on-call for snake_case, a - b, C# and 2+2. Why? Fine! Yes."
        );
    }

    #[test]
    fn injection_attempts_are_escaped() {
        let cases = [
            ("{panel}x{panel}", "\\{panel\\}x\\{panel\\}"),
            ("{color:red}x{color}", "\\{color:red\\}x\\{color\\}"),
            (
                "[~admin] and [x|https://evil]",
                "\\[\\~admin\\] and \\[x\\|https://evil\\]",
            ),
            ("!https://evil/x.png!", "\\!https://evil/x.png\\!"),
            ("h1. fake heading", "h1&#46; fake heading"),
            ("text\nbq. fake quote", "text\nbq&#46; fake quote"),
            ("\\* not bold", "\\* not bold"),
            ("C:\\temp and a\\\\b", "C:&#92;temp and a&#92;b"),
            ("x *y* z", "x _y_ z"),
            ("||head||", "\\|\\|head\\|\\|"),
            ("??cite??", "\\?\\?cite\\?\\?"),
            ("+ins+ ^sup^ H~2~O", "\\+ins\\+ \\^sup\\^ H~2~O"),
            ("\\# not a list", "\\# not a list"),
            ("`{code}` and `}}`", "{{\\{code\\}}} and {{\\}\\}}}"),
        ];
        for (md, want) in cases {
            assert_eq!(convert(md), want, "{md:?}");
        }
    }

    #[test]
    fn code_blocks_that_contain_their_own_end_tag() {
        assert_eq!(
            convert("```java\nx {code} y\n```"),
            "{noformat}\nx {code} y\n{noformat}"
        );
        assert_eq!(
            convert("```\na {noformat} b\n```"),
            "{code}\na {noformat} b\n{code}"
        );
        assert_eq!(
            convert("```\n{code}\n{noformat}\n* item\n```"),
            "\\{code\\}\n\\{noformat\\}\n\\* item"
        );
    }

    #[test]
    fn links_that_cannot_be_links_are_text() {
        let cases = [
            ("[click](javascript:alert(1))", "click"),
            ("[rel](/docs/x)", "rel"),
            ("[a](https://x.example/a|b)", "a (https://x.example/a\\|b)"),
            (
                "[a](<https://x.example/a]b>)",
                "a (https://x.example/a\\]b)",
            ),
            ("[a | b](https://x.example)", "a \\| b (https://x.example)"),
            ("[](https://x.example)", "[https://x.example]"),
        ];
        for (md, want) in cases {
            assert_eq!(convert(md), want, "{md:?}");
        }
    }
}

#[cfg(test)]
mod literal_tests {
    use super::*;

    /// Jira Data Center's emoticons and entities render as typed (issue 8, item 7).
    #[test]
    fn emoticons_and_entities_render_as_typed() {
        let cases = [
            (
                "(x) (i) (/) (y) (n)",
                "&#40;x) &#40;i) &#40;/) &#40;y) &#40;n)",
            ),
            (
                "(on) (off) (?) (flag) (flagoff)",
                "&#40;on) &#40;off) &#40;?) &#40;flag) &#40;flagoff)",
            ),
            (
                "(!) (+) (-) (*) (*r)",
                "&#40;\\!) &#40;\\+) &#40;\\-) &#40;\\*) &#40;\\*r)",
            ),
            (":) :( :P :D ;)", "&#58;) &#58;( &#58;P &#58;D &#59;)"),
            // GitHub shows `&amp;` as `&`; a literal entity (`\\&copy;`) stays literal in Jira.
            (
                "&amp; AT&T \\&copy; \\&#40;",
                "& AT&#38;T &#38;copy; &#38;\\#40;",
            ),
            (
                "(a long aside) and 12:30; fine",
                "(a long aside) and 12:30; fine",
            ),
        ];
        for (md, want) in cases {
            assert_eq!(convert(md), want, "{md:?}");
        }
    }

    /// Whether `token` occurs in `wiki` without a backslash escaping its first character.
    fn unescaped(wiki: &str, token: &str) -> bool {
        wiki.match_indices(token)
            .any(|(i, _)| !wiki[..i].ends_with('\\'))
    }

    #[test]
    fn every_wiki_token_typed_as_text_stays_text() {
        for md in [
            "a ---- b",
            "-- and ---",
            "{{mono}}",
            "!image.png!",
            "[link]",
            "[text|https://x.example]",
            "a | b",
            "bq. quote",
            "h1. head",
            "{color:red}red{color}",
            "{panel}",
            "\\\\ break",
            "\\* not a list",
            "\\# not a list",
            "^sup^ ~sub~ +ins+ -del- ??cite??",
            "[~user] [#anchor]",
            "(flag) (flagoff) (*g) (*b) (*y) (on) (off)",
            "&quot; &#123;",
            "{anchor:x} {toc}",
        ] {
            let wiki = convert(md);
            for token in [
                "----", "{{", "!image", "[link]", "[text|", "bq.", "h1.", "{color", "{panel",
                "(flag)", "(on)", "(*g)", "&quot;", "&#123;", "{anchor", "{toc", "[~user]",
            ] {
                assert!(
                    !unescaped(&wiki, token),
                    "{md:?} -> {wiki:?} contains {token:?}"
                );
            }
            assert!(
                !wiki.starts_with("* ") && !wiki.starts_with("# "),
                "{md:?} -> {wiki:?}"
            );
            for pair in ["^sup^", "~sub~", "+ins+", "-del-", "??cite??", " | "] {
                assert!(
                    !unescaped(&wiki, pair),
                    "{md:?} -> {wiki:?} contains {pair:?}"
                );
            }
        }
    }

    #[test]
    fn tables_become_wiki_tables() {
        let md = "| Metric | Before | After |\n| --- | :-: | --: |\n| p99 | 2.1 s | **0.4 s** |\n| pages | | a\\|b |";
        assert_eq!(
            convert(md),
            "||Metric||Before||After||\n|p99|2.1 s|*0.4 s*|\n|pages| |a\\|b|"
        );
        // In a list item (one line in wiki markup) the rows are written inline.
        let in_item = "- results:\n\n  | a | b |\n  | - | - |\n  | 1 | 2 |";
        assert_eq!(convert(in_item), "* results: \\\\ a \\| b \\\\ 1 \\| 2");
        assert_eq!(
            convert("text\n\n| a |\n| - |\n| (x) |\n\nafter"),
            "text\n\n||a||\n|&#40;x)|\n\nafter"
        );
    }

    #[test]
    fn deep_nesting_is_flattened_with_a_note() {
        let md = "* ".repeat(30_000) + "retry budget";
        let wiki = convert(&md);
        assert!(wiki.len() < 2_000, "{} bytes", wiki.len());
        assert!(wiki.contains("retry budget"));
        assert!(wiki.contains("nesting deeper than Jira can show was flattened"));
        let deepest = "*".repeat(super::super::bounded::MAX_BLOCK_DEPTH / 2);
        assert!(
            wiki.lines().any(|l| l.starts_with(&format!("{deepest} "))),
            "{wiki}"
        );
    }
}
