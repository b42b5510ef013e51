//! Markdown → Atlassian Document Format. In ADF text is data, so there is nothing to escape;
//! the work is keeping the tree valid, because Jira rejects the whole request otherwise:
//! no empty text nodes, headings only at the top level, a list item starts with a paragraph
//! or code block, the `code` mark only combines with `link`, no quote inside a quote or list.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Tag, TagEnd};
use serde_json::{Value, json};

use super::bounded::{Bounded, FLATTENED_NOTE};
use super::{is_html_comment, safe_href, task_marker};

/// Converts Markdown into an ADF `doc` (version 1). Nesting beyond the bounds of
/// [`super::bounded`] is flattened, with a note at the end, so the tree stays shallow.
pub(super) fn convert(md: &str) -> Value {
    let mut b = Builder::default();
    let mut events = Bounded::new(md);
    for event in events.by_ref() {
        b.event(event);
    }
    if events.flattened {
        b.finish_open();
        b.append_block(json!({"type": "paragraph", "content": [
            {"type": "text", "text": FLATTENED_NOTE, "marks": [{"type": "em"}]}
        ]}));
    }
    b.finish()
}

/// The node a frame becomes once closed.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Doc,
    /// `implicit`: opened for the bare text of a tight list item, closed by the next block.
    Paragraph {
        implicit: bool,
    },
    Heading(u8),
    BulletList,
    OrderedList(u64),
    ListItem,
    BlockQuote,
    CodeBlock(Option<String>),
    /// Raw HTML lines, shown as text unless the block is a comment.
    Html,
    /// A GitHub table; a real ADF table at the top level, rows of text elsewhere.
    Table,
    /// A row; `head` for the header row (its cells become `tableHeader`).
    TableRow {
        head: bool,
    },
    TableCell {
        head: bool,
    },
}

/// An open node and what has been put into it so far.
#[derive(Debug)]
struct Frame {
    kind: Kind,
    content: Vec<Value>,
    /// Text of a code or HTML block.
    raw: String,
    /// A list item's task box (`Some(checked)`), or a list's, per item in order.
    tasks: Vec<Option<bool>>,
}

impl Frame {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            content: Vec::new(),
            raw: String::new(),
            tasks: Vec::new(),
        }
    }
}

/// An inline style in force.
#[derive(Debug, Clone)]
enum Style {
    Strong,
    Em,
    Strike,
    /// A link (`None` when its target may not become a link); `href` shown as text when the
    /// link has none, and the count of inline nodes when it started.
    Link {
        href: Option<String>,
        started_at: usize,
    },
}

#[derive(Debug)]
struct Builder {
    stack: Vec<Frame>,
    styles: Vec<Style>,
    /// Inline nodes written so far, to tell whether a link or image had any text.
    inline_count: usize,
    /// `localId`s handed out to task lists and items (ADF requires one on each).
    task_ids: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            stack: vec![Frame::new(Kind::Doc)],
            styles: Vec::new(),
            inline_count: 0,
            task_ids: 0,
        }
    }
}

impl Builder {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(&t),
            Event::Code(t) => self.inline_code(&t),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.inline_code(&t),
            Event::Html(t) => self.html(&t),
            Event::InlineHtml(t) => {
                if !is_html_comment(&t) {
                    self.text(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => self.line_break(),
            Event::Rule => {
                self.close_implicit_paragraph();
                self.append_block(json!({"type": "rule"}));
            }
            Event::TaskListMarker(checked) => {
                if let Some(item) = self
                    .stack
                    .iter_mut()
                    .rev()
                    .find(|f| f.kind == Kind::ListItem)
                {
                    item.tasks = vec![Some(checked)];
                }
                self.push_text(task_marker(checked), Vec::new());
            }
            Event::FootnoteReference(t) => self.text(&format!("[{t}]")),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let kind = match tag {
            Tag::Emphasis => return self.styles.push(Style::Em),
            Tag::Strong => return self.styles.push(Style::Strong),
            Tag::Strikethrough => return self.styles.push(Style::Strike),
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
                let started_at = self.inline_count;
                return self.styles.push(Style::Link { href, started_at });
            }
            Tag::Paragraph => Kind::Paragraph { implicit: false },
            Tag::Heading { level, .. } => Kind::Heading(heading_level(level)),
            Tag::BlockQuote(_) => Kind::BlockQuote,
            Tag::CodeBlock(CodeBlockKind::Fenced(info)) => {
                Kind::CodeBlock(info.split_whitespace().next().map(str::to_owned))
            }
            Tag::CodeBlock(CodeBlockKind::Indented) => Kind::CodeBlock(None),
            Tag::List(Some(start)) => Kind::OrderedList(start),
            Tag::List(None) => Kind::BulletList,
            Tag::Item => Kind::ListItem,
            Tag::HtmlBlock => Kind::Html,
            Tag::Table(_) => Kind::Table,
            Tag::TableHead => Kind::TableRow { head: true },
            Tag::TableRow => Kind::TableRow { head: false },
            Tag::TableCell => Kind::TableCell {
                head: matches!(self.top_kind(), Kind::TableRow { head: true }),
            },
            // The other extensions are not enabled; their text, if any ever arrives, lands
            // in the enclosing block.
            _ => return,
        };
        self.close_implicit_paragraph();
        self.stack.push(Frame::new(kind));
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link | TagEnd::Image => {
                if let Some(Style::Link { href, started_at }) = self.styles.pop()
                    && started_at == self.inline_count
                    && let Some(href) = href
                {
                    // A link without text (`[](url)`, `![](url)`): show its address.
                    let marks = vec![json!({"type": "link", "attrs": {"href": href}})];
                    self.push_text(&href, marks);
                }
            }
            TagEnd::Paragraph
            | TagEnd::Heading(_)
            | TagEnd::BlockQuote(_)
            | TagEnd::CodeBlock
            | TagEnd::List(_)
            | TagEnd::Item
            | TagEnd::HtmlBlock
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::TableCell => {
                self.close_implicit_paragraph();
                if self.stack.len() > 1
                    && let Some(frame) = self.stack.pop()
                {
                    self.close(frame);
                }
            }
            _ => {}
        }
    }

    /// Closes every open node, leaving the document.
    fn finish_open(&mut self) {
        self.close_implicit_paragraph();
        while self.stack.len() > 1 {
            if let Some(frame) = self.stack.pop() {
                self.close(frame);
            }
        }
        self.styles.clear();
    }

    fn finish(mut self) -> Value {
        self.finish_open();
        let content = self.stack.pop().map(|f| f.content).unwrap_or_default();
        json!({"type": "doc", "version": 1, "content": content})
    }

    fn top_kind(&self) -> &Kind {
        self.stack.last().map_or(&Kind::Doc, |f| &f.kind)
    }

    fn close_implicit_paragraph(&mut self) {
        if *self.top_kind() == (Kind::Paragraph { implicit: true })
            && let Some(frame) = self.stack.pop()
        {
            self.close(frame);
        }
    }

    /// Turns a finished frame into a node and hands it to its parent.
    fn close(&mut self, frame: Frame) {
        let parent_is_doc = *self.top_kind() == Kind::Doc;
        let node = match frame.kind {
            Kind::Doc => return,
            Kind::Paragraph { .. } => paragraph(frame.content),
            Kind::Heading(level) if parent_is_doc => (!frame.content.is_empty()).then(
                || json!({"type": "heading", "attrs": {"level": level}, "content": frame.content}),
            ),
            Kind::Heading(_) => paragraph(frame.content.into_iter().map(embolden).collect()),
            Kind::BulletList if parent_is_doc => {
                task_list(&frame.content, &frame.tasks, self.task_ids)
                    .inspect(|_| self.task_ids += frame.content.len() + 1)
                    .or_else(|| list("bulletList", None, frame.content))
            }
            Kind::BulletList => list("bulletList", None, frame.content),
            Kind::OrderedList(start) => list("orderedList", Some(start), frame.content),
            Kind::ListItem => {
                let task = frame.tasks.first().copied().flatten();
                if let Some(list) = self.stack.last_mut() {
                    list.tasks.push(task);
                }
                Some(list_item(frame.content))
            }
            Kind::BlockQuote => (!frame.content.is_empty())
                .then(|| json!({"type": "blockquote", "content": frame.content})),
            Kind::CodeBlock(language) => code_block(&frame.raw, language),
            Kind::Html if is_html_comment(&frame.raw) => None,
            Kind::Html => paragraph(text_with_breaks(frame.raw.trim_end(), &[])),
            Kind::Table if parent_is_doc => (!frame.content.is_empty()).then(|| {
                json!({"type": "table",
                       "attrs": {"isNumberColumnEnabled": false, "layout": "default"},
                       "content": frame.content})
            }),
            Kind::Table => {
                // ADF has tables only at the top level: each row becomes a line of text.
                for row in table_as_paragraphs(frame.content) {
                    self.append_block(row);
                }
                return;
            }
            Kind::TableRow { .. } => (!frame.content.is_empty())
                .then(|| json!({"type": "tableRow", "content": frame.content})),
            Kind::TableCell { head } => {
                let content = if frame.content.is_empty() {
                    vec![json!({"type": "paragraph", "content": []})]
                } else {
                    frame.content
                };
                let kind = if head { "tableHeader" } else { "tableCell" };
                Some(json!({"type": kind, "attrs": {}, "content": content}))
            }
        };
        if let Some(node) = node {
            self.append_block(node);
        }
    }

    /// Adds a block node to the open container, reshaping it where ADF does not allow it.
    fn append_block(&mut self, node: Value) {
        let Some(parent) = self.stack.last_mut() else {
            return;
        };
        let kind = node_type(&node);
        match (&parent.kind, kind) {
            // No quote inside a quote or a list item: its blocks take its place.
            (Kind::BlockQuote | Kind::ListItem, "blockquote") => {
                if let Value::Object(mut map) = node
                    && let Some(Value::Array(children)) = map.remove("content")
                {
                    parent.content.extend(children);
                }
            }
            // A rule only stands at the top level.
            (Kind::Doc, _) | (_, "paragraph" | "bulletList" | "orderedList" | "codeBlock") => {
                parent.content.push(node);
            }
            (Kind::BulletList | Kind::OrderedList(_), "listItem") => parent.content.push(node),
            (Kind::Table, "tableRow") | (Kind::TableRow { .. }, "tableCell" | "tableHeader") => {
                parent.content.push(node)
            }
            _ => {}
        }
    }

    fn text(&mut self, t: &str) {
        if let Some(frame) = self.stack.last_mut()
            && matches!(frame.kind, Kind::CodeBlock(_) | Kind::Html)
        {
            frame.raw.push_str(t);
            return;
        }
        let marks = self.marks(false);
        self.push_text(t, marks);
    }

    fn inline_code(&mut self, t: &str) {
        let marks = self.marks(true);
        self.push_text(t, marks);
    }

    fn html(&mut self, t: &str) {
        match self.stack.last_mut() {
            Some(frame) if frame.kind == Kind::Html => frame.raw.push_str(t),
            _ if is_html_comment(t) => {}
            _ => self.text(t),
        }
    }

    fn line_break(&mut self) {
        if let Some(frame) = self.stack.last_mut()
            && matches!(frame.kind, Kind::CodeBlock(_) | Kind::Html)
        {
            frame.raw.push('\n');
        } else if matches!(self.top_kind(), Kind::Heading(_)) {
            self.push_text(" ", Vec::new());
        } else {
            self.push_inline(json!({"type": "hardBreak"}));
        }
    }

    /// The marks for text written now; code text only keeps a link (ADF's rule).
    fn marks(&self, code: bool) -> Vec<Value> {
        let mut marks: Vec<Value> = Vec::new();
        if code {
            marks.push(json!({"type": "code"}));
        }
        for style in &self.styles {
            let mark = match style {
                Style::Strong if !code => json!({"type": "strong"}),
                Style::Em if !code => json!({"type": "em"}),
                Style::Strike if !code => json!({"type": "strike"}),
                Style::Link {
                    href: Some(href), ..
                } => {
                    json!({"type": "link", "attrs": {"href": href}})
                }
                _ => continue,
            };
            if !marks.contains(&mark) {
                marks.push(mark);
            }
        }
        marks
    }

    /// Writes text, merged into the previous text node when the marks are the same.
    fn push_text(&mut self, t: &str, marks: Vec<Value>) {
        if t.is_empty() {
            return;
        }
        self.open_inline_container();
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        if let Some(Value::Object(last)) = frame.content.last_mut()
            && last.get("type").and_then(Value::as_str) == Some("text")
            && marks_of(last) == marks.as_slice()
            && let Some(Value::String(text)) = last.get_mut("text")
        {
            text.push_str(t);
            return;
        }
        frame.content.push(text_node(t, marks));
        self.inline_count += 1;
    }

    fn push_inline(&mut self, node: Value) {
        self.open_inline_container();
        if let Some(frame) = self.stack.last_mut() {
            frame.content.push(node);
            self.inline_count += 1;
        }
    }

    /// Inline content needs a paragraph or heading; a tight list item's text has none.
    fn open_inline_container(&mut self) {
        if !matches!(self.top_kind(), Kind::Paragraph { .. } | Kind::Heading(_)) {
            self.stack
                .push(Frame::new(Kind::Paragraph { implicit: true }));
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn marks_of(node: &serde_json::Map<String, Value>) -> &[Value] {
    node.get("marks")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text_node(text: &str, marks: Vec<Value>) -> Value {
    if marks.is_empty() {
        json!({"type": "text", "text": text})
    } else {
        json!({"type": "text", "text": text, "marks": marks})
    }
}

/// Text nodes for `text`, its line breaks as `hardBreak`s.
fn text_with_breaks(text: &str, marks: &[Value]) -> Vec<Value> {
    let mut nodes = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            nodes.push(json!({"type": "hardBreak"}));
        }
        if !line.is_empty() {
            nodes.push(text_node(line, marks.to_vec()));
        }
    }
    nodes
}

/// A paragraph, or nothing when it would be empty or only line breaks.
fn paragraph(mut content: Vec<Value>) -> Option<Value> {
    while content.last().is_some_and(|n| node_type(n) == "hardBreak") {
        content.pop();
    }
    (!content.is_empty()).then(|| json!({"type": "paragraph", "content": content}))
}

/// Heading text kept visible as a heading inside a list or quote: bold (not on code text).
fn embolden(mut node: Value) -> Value {
    if node_type(&node) == "text"
        && let Value::Object(map) = &mut node
    {
        let marks = map
            .entry("marks")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(marks) = marks
            && !marks
                .iter()
                .any(|m| node_type(m) == "code" || node_type(m) == "strong")
        {
            marks.push(json!({"type": "strong"}));
        }
    }
    node
}

/// A table's rows as paragraphs, cells separated by ` | `, for places ADF has no table.
fn table_as_paragraphs(rows: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for row in rows {
        let mut line: Vec<Value> = Vec::new();
        let cells = row.get("content").and_then(Value::as_array).cloned();
        for (i, cell) in cells.unwrap_or_default().into_iter().enumerate() {
            if i > 0 {
                line.push(json!({"type": "text", "text": " | "}));
            }
            let blocks = cell.get("content").and_then(Value::as_array).cloned();
            for block in blocks.unwrap_or_default() {
                if let Some(inline) = block.get("content").and_then(Value::as_array) {
                    line.extend(inline.iter().cloned());
                }
            }
        }
        if let Some(p) = paragraph(line) {
            out.push(p);
        }
    }
    out
}

/// A GitHub task list as an ADF `taskList` (Jira Cloud's action items) when every item has
/// a box and is one paragraph; `None` otherwise (the items then keep ☐/☑ as text).
/// `first_id` numbers the `localId`s, unique within the document.
fn task_list(items: &[Value], tasks: &[Option<bool>], first_id: usize) -> Option<Value> {
    if items.is_empty() || tasks.len() != items.len() || tasks.iter().any(Option::is_none) {
        return None;
    }
    let mut task_items = Vec::new();
    for (i, (item, done)) in items.iter().zip(tasks).enumerate() {
        let [paragraph] = item.get("content")?.as_array()?.as_slice() else {
            return None;
        };
        if node_type(paragraph) != "paragraph" {
            return None;
        }
        let mut inline = paragraph.get("content")?.as_array()?.clone();
        let marker = task_marker(done.unwrap_or(false));
        if let Some(Value::Object(first)) = inline.first_mut()
            && let Some(Value::String(text)) = first.get_mut("text")
            && let Some(rest) = text.strip_prefix(marker)
        {
            *text = rest.to_owned();
            if text.is_empty() {
                inline.remove(0);
            }
        }
        let state = if done.unwrap_or(false) {
            "DONE"
        } else {
            "TODO"
        };
        task_items.push(json!({"type": "taskItem",
            "attrs": {"localId": format!("task-{}", first_id + i + 1), "state": state},
            "content": inline}));
    }
    Some(
        json!({"type": "taskList", "attrs": {"localId": format!("task-{first_id}")},
        "content": task_items}),
    )
}

fn list(kind: &str, start: Option<u64>, items: Vec<Value>) -> Option<Value> {
    if items.is_empty() {
        return None;
    }
    Some(match start {
        Some(order) => json!({"type": kind, "attrs": {"order": order}, "content": items}),
        None => json!({"type": kind, "content": items}),
    })
}

/// A list item whose first child is a paragraph or code block, as ADF requires.
fn list_item(mut content: Vec<Value>) -> Value {
    let starts_well = content
        .first()
        .is_some_and(|n| matches!(node_type(n), "paragraph" | "codeBlock"));
    if !starts_well {
        content.insert(0, json!({"type": "paragraph", "content": []}));
    }
    json!({"type": "listItem", "content": content})
}

fn code_block(raw: &str, language: Option<String>) -> Option<Value> {
    let code = raw.strip_suffix('\n').unwrap_or(raw);
    if code.is_empty() {
        return None;
    }
    let content = json!([{"type": "text", "text": code}]);
    Some(match language {
        Some(language) => {
            json!({"type": "codeBlock", "attrs": {"language": language}, "content": content})
        }
        None => json!({"type": "codeBlock", "content": content}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(content: Value) -> Value {
        json!({"type": "doc", "version": 1, "content": content})
    }

    fn p(text: &str) -> Value {
        json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
    }

    #[test]
    fn paragraphs_headings_and_breaks() {
        assert_eq!(convert(""), doc(json!([])));
        assert_eq!(convert("one\n\ntwo"), doc(json!([p("one"), p("two")])));
        assert_eq!(
            convert("## Title\nline one\nline two"),
            doc(json!([
                {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Title"}]},
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "line one"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "line two"},
                ]},
            ]))
        );
    }

    #[test]
    fn marks() {
        let got = convert("**b** _e_ ~~s~~ `c` [**l**](https://x.example)");
        let content = &got["content"][0]["content"];
        let expect = json!([
            {"type": "text", "text": "b", "marks": [{"type": "strong"}]},
            {"type": "text", "text": " "},
            {"type": "text", "text": "e", "marks": [{"type": "em"}]},
            {"type": "text", "text": " "},
            {"type": "text", "text": "s", "marks": [{"type": "strike"}]},
            {"type": "text", "text": " "},
            {"type": "text", "text": "c", "marks": [{"type": "code"}]},
            {"type": "text", "text": " "},
            {"type": "text", "text": "l", "marks": [
                {"type": "link", "attrs": {"href": "https://x.example"}},
                {"type": "strong"},
            ]},
        ]);
        assert_eq!(*content, expect);
    }

    #[test]
    fn code_mark_only_combines_with_link() {
        let got = convert("**a `b`** [`c`](https://x.example)");
        let content = &got["content"][0]["content"];
        assert_eq!(content[1]["marks"], json!([{"type": "code"}]));
        assert_eq!(
            content[3]["marks"],
            json!([{"type": "code"}, {"type": "link", "attrs": {"href": "https://x.example"}}])
        );
    }

    #[test]
    fn unsafe_links_are_plain_text() {
        let got = convert("[click](javascript:alert(1)) [rel](/x) ![img](https://i.example/a.png)");
        let content = &got["content"][0]["content"];
        assert_eq!(content[0], json!({"type": "text", "text": "click rel "}));
        assert_eq!(content[1]["text"], "img");
        assert_eq!(
            content[1]["marks"][0]["attrs"]["href"],
            "https://i.example/a.png"
        );
    }

    #[test]
    fn empty_link_text_shows_the_address() {
        let got = convert("[](https://x.example) <https://y.example> <sre@example.com>");
        let content = &got["content"][0]["content"];
        assert_eq!(content[0]["text"], "https://x.example");
        assert_eq!(content[2]["text"], "https://y.example");
        assert_eq!(
            content[4]["marks"][0]["attrs"]["href"],
            "mailto:sre@example.com"
        );
    }

    #[test]
    fn lists_and_task_lists() {
        let got = convert("- a\n  - b\n3. c\n- [ ] t\n- [x] u\n-\n");
        let expect = doc(json!([
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [
                    p("a"),
                    {"type": "bulletList", "content": [{"type": "listItem", "content": [p("b")]}]},
                ]},
            ]},
            {"type": "orderedList", "attrs": {"order": 3}, "content": [
                {"type": "listItem", "content": [p("c")]},
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [p("☐ t")]},
                {"type": "listItem", "content": [p("☑ u")]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": []}]},
            ]},
        ]));
        assert_eq!(got, expect);
    }

    #[test]
    fn code_blocks() {
        let got = convert("```rust extra\nfn main() {}\n```\n\n    indented\n\n```\n```");
        assert_eq!(
            got,
            doc(json!([
                {"type": "codeBlock", "attrs": {"language": "rust"},
                 "content": [{"type": "text", "text": "fn main() {}"}]},
                {"type": "codeBlock", "content": [{"type": "text", "text": "indented"}]},
            ]))
        );
    }

    #[test]
    fn structure_is_reshaped_where_adf_forbids_it() {
        let got =
            convert("> # quoted heading\n> > nested\n\n- # item heading\n- > quote\n- ***\n\n---");
        let expect = doc(json!([
            {"type": "blockquote", "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "quoted heading", "marks": [{"type": "strong"}]},
                ]},
                p("nested"),
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "item heading", "marks": [{"type": "strong"}]},
                ]}]},
                {"type": "listItem", "content": [p("quote")]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": []}]},
            ]},
            {"type": "rule"},
        ]));
        assert_eq!(got, expect);
    }

    #[test]
    fn html_comments_hidden_other_html_is_text() {
        let got = convert("<!-- council-sync:marker -->\n\n<div>hi</div>\n\na <b>c</b> <!-- x -->");
        assert_eq!(
            got,
            doc(json!([
                p("<div>hi</div>"),
                {"type": "paragraph", "content": [{"type": "text", "text": "a <b>c</b> "}]},
            ]))
        );
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn tables_become_adf_tables() {
        let got = convert("| Metric | After |\n| --- | --- |\n| p99 | ~~2.1 s~~ 0.4 s |\n| x | |");
        let cell =
            |kind: &str, content: Value| json!({"type": kind, "attrs": {}, "content": content});
        let p = |nodes: Value| json!([{"type": "paragraph", "content": nodes}]);
        let expect = json!({"type": "doc", "version": 1, "content": [{
            "type": "table",
            "attrs": {"isNumberColumnEnabled": false, "layout": "default"},
            "content": [
                {"type": "tableRow", "content": [
                    cell("tableHeader", p(json!([{"type": "text", "text": "Metric"}]))),
                    cell("tableHeader", p(json!([{"type": "text", "text": "After"}]))),
                ]},
                {"type": "tableRow", "content": [
                    cell("tableCell", p(json!([{"type": "text", "text": "p99"}]))),
                    cell("tableCell", p(json!([
                        {"type": "text", "text": "2.1 s", "marks": [{"type": "strike"}]},
                        {"type": "text", "text": " 0.4 s"},
                    ]))),
                ]},
                {"type": "tableRow", "content": [
                    cell("tableCell", p(json!([{"type": "text", "text": "x"}]))),
                    cell("tableCell", p(json!([]))),
                ]},
            ],
        }]});
        assert_eq!(got, expect);
    }

    #[test]
    fn task_lists_become_adf_task_lists() {
        let expect = json!({"type": "doc", "version": 1, "content": [{
        "type": "taskList", "attrs": {"localId": "task-0"}, "content": [
            {"type": "taskItem", "attrs": {"localId": "task-1", "state": "TODO"},
             "content": [{"type": "text", "text": "payments: retry"}]},
            {"type": "taskItem", "attrs": {"localId": "task-2", "state": "DONE"},
             "content": [{"type": "text", "text": "data", "marks": [{"type": "strong"}]},
                         {"type": "text", "text": ": probe"}]},
        ]}]});
        let got = convert("- [ ] payments: retry\n- [x] **data**: probe\n\nbetween\n\n* [ ] a\n");
        assert_eq!(got["content"][0], expect["content"][0]);
        assert_eq!(
            got["content"][2]["attrs"]["localId"], "task-3",
            "unique ids"
        );
        // Items with more than one paragraph keep the boxes as text in a bullet list.
        let got = convert("- [ ] a\n\n  more\n- [x] b");
        assert_eq!(got["content"][0]["type"], "bulletList");
    }

    #[test]
    fn tables_inside_lists_become_lines() {
        let got = convert("- r\n\n  | a | b |\n  | - | - |\n  | 1 | 2 |");
        let item = &got["content"][0]["content"][0]["content"];
        let line = |p: &Value| -> String {
            let nodes = p["content"].as_array().cloned().unwrap_or_default();
            nodes.iter().filter_map(|n| n["text"].as_str()).collect()
        };
        assert_eq!(line(&item[1]), "a | b");
        assert_eq!(line(&item[2]), "1 | 2");
    }

    #[test]
    fn deep_nesting_is_flattened_with_a_note() {
        let doc = convert(&("* ".repeat(30_000) + "retry budget"));
        let text = doc.to_string();
        assert!(text.contains("retry budget") && text.contains("was flattened"));
        assert!(text.len() < 10_000, "{} bytes", text.len());
    }
}
