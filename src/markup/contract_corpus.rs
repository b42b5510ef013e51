//! The markup tests' ADF documents, written out for the contract step, which validates
//! each against Atlassian's published ADF JSON schema (`@atlaskit/adf-schema`,
//! `dist/json-schema/v1/full.json`) and the node and mark types Jira Cloud renders
//! (`tests/contract/adf.mjs`). Run by `scripts/contract`; harmless anywhere else.

use std::path::PathBuf;

use super::markdown_to_adf;

/// Markdown covering every construct the ADF writer emits and every reshaping it does.
const SAMPLES: &[&str] = &[
    "",
    "one\n\ntwo\nthree  \nfour",
    "# H1\n## H2\n###### H6 with `code` and **bold**",
    "**b** _e_ ~~s~~ `c` [**l**](https://x.example) [](https://y.example) <sre@example.com>",
    "**a `b`** [`c`](https://x.example) [click](javascript:alert(1)) ![img](https://i.example/a.png)",
    "- a\n  - b\n3. c\n- [ ] t\n- [x] u\n-\n",
    "- [ ] payments: retry\n- [x] **data**: probe [docs](https://x.example)\n\n- [ ] `x`\n",
    "- [ ] a\n  - [ ] nested\n- [x] b",
    "- [ ] \n- [x] b",
    "```rust extra\nfn main() {}\n```\n\n    indented\n\n```\n```",
    "> # quoted heading\n> > nested\n\n- # item heading\n- > quote\n- ***\n\n---",
    "<!-- marker -->\n\n<div>hi</div>\n\na <b>c</b> <!-- x -->",
    "| Metric | Before | After |\n| --- | :-: | --: |\n| p99 | 2.1 s | **0.4 s** |\n| pages | | a\\|b |",
    "- r\n\n  | a | b |\n  | - | - |\n  | 1 | 2 |",
    "> | in | quote |\n> | - | - |\n> | 1 | 2 |",
    "(x) (i) :) ;) {color:red}x{color} [~admin] !image.png! ---- bq. h1. x",
    "$x^2$ and $$y$$ and [^1]\n\n[^1]: a footnote",
];

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/contract/adf")
}

/// Writes every sample's ADF, plus deep, wide and huge documents, as
/// `target/contract/adf/markup-<n>.json`.
#[test]
fn adf_corpus_dump() {
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("create target/contract/adf");
    let extremes = [
        "* ".repeat(30_000) + "retry budget",
        "> ".repeat(30_000) + "retry budget",
        "> - ".repeat(5_000) + "x",
        "**_~~".repeat(2_000) + "x",
        "| a | b |\n| - | - |\n".to_owned() + &"| (x) | 1 |\n".repeat(500),
    ];
    let docs = SAMPLES
        .iter()
        .map(|s| (*s).to_owned())
        .chain(extremes)
        .map(|md| markdown_to_adf(&md));
    for (i, doc) in docs.enumerate() {
        let path = dir.join(format!("markup-{i}.json"));
        std::fs::write(&path, doc.to_string()).expect("write an ADF document");
    }
}
