//! `[routing]`: where what is not an SRE concern belongs (issue 11). The council decides on
//! reliability work; customer escalations, functional bugs and UX issues, and product ideas
//! have their own homes. Each `[routing.<kind>]` names one of those homes:
//!
//! ```toml
//! [routing.customer-escalation]
//! option = "Customer escalation"          # the issue form's "What kind of problem is this?" answer
//! url = "https://support.example.com/escalate"
//! message = "Customer escalations are handled by Support's escalation desk."
//! ```
//!
//! An issue whose form answer is a route's `option` gets a reply with the message and the
//! link and is closed as not planned; a council member can do the same afterwards with the
//! `council/out-of-scope` label, naming the kind with a second label `out-of-scope/<kind>`
//! or a comment `/out-of-scope <kind>`.

use serde::Deserialize;

use super::ConfigProblem;
use crate::concern::form::{IssueForm, KIND_FIELD_ID, fold};

/// One place out-of-scope issues of a kind belong.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The option of the issue form's `kind` dropdown that means this kind (compared as
    /// the form's options read: case and spacing ignored).
    pub option: String,
    /// Where it belongs (`https://…`).
    pub url: String,
    /// The sentence the reply says about it, e.g. "Customer escalations are handled by
    /// Support's escalation desk."
    pub message: String,
}

/// The label prefix a council member uses to name the kind: `out-of-scope/<kind>`.
pub const KIND_LABEL_PREFIX: &str = "out-of-scope/";

/// The problems of `[routing]`: a kind that is not a slug, an empty message, a URL that is
/// not http(s), an option the issue form does not offer (when the form has the dropdown).
pub fn problems(
    routes: &std::collections::BTreeMap<String, Route>,
    form: &IssueForm,
) -> Vec<ConfigProblem> {
    let options = form
        .field(KIND_FIELD_ID)
        .map(|f| f.options.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (kind, route) in routes {
        let key = |k: &str| format!("routing.{kind}.{k}");
        if kind.is_empty()
            || !kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            out.push(ConfigProblem::error(
                format!("routing.{kind}"),
                "a kind is a slug of lower-case letters, digits and `-` (it is also a label, \
                 `out-of-scope/<kind>`), e.g. `customer-escalation`",
            ));
        }
        if route.message.trim().is_empty() {
            out.push(ConfigProblem::error(key("message"), "must not be empty"));
        }
        if !(route.url.starts_with("https://") || route.url.starts_with("http://"))
            || route.url.contains(char::is_whitespace)
        {
            out.push(ConfigProblem::error(
                key("url"),
                "must be an http(s) URL, e.g. \"https://support.example.com/escalate\"",
            ));
        }
        if !options.is_empty() && !options.iter().any(|o| fold(o) == fold(&route.option)) {
            out.push(ConfigProblem::error(
                key("option"),
                format!(
                    "`{}` is not an option of the issue form's \"What kind of problem is \
                     this?\" field; its options: {}",
                    route.option,
                    options.join(", ")
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(option: &str, url: &str, message: &str) -> Route {
        Route {
            option: option.into(),
            url: url.into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_good_route_has_no_problem_and_bad_ones_name_their_key() {
        let form = IssueForm::shipped();
        let mut routes = std::collections::BTreeMap::new();
        routes.insert(
            "customer-escalation".to_owned(),
            route(
                "customer  ESCALATION",
                "https://support.example.com",
                "Support handles it.",
            ),
        );
        assert_eq!(problems(&routes, &form), vec![]);
        routes.insert(
            "Product Idea".to_owned(),
            route("Product wish", "ftp://x", " "),
        );
        let keys: Vec<String> = problems(&routes, &form)
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(
            keys,
            [
                "routing.Product Idea",
                "routing.Product Idea.message",
                "routing.Product Idea.url",
                "routing.Product Idea.option",
            ]
        );
    }
}
