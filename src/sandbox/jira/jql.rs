//! The sandbox's JQL: a small subset, lexed and parsed into a tree, then evaluated.
//!
//! Supported: `project`, `key`/`issuekey`, `parent`, `labels`, `issuetype`/`type`,
//! `status`, `"Epic Link"`/`cf[10008]`, `sprint` (by id), `created`, `updated`, administrators'
//! custom fields as `cf[N]`/`customfield_N` (see [`super::custom`]); operators `=`, `!=`, `in`,
//! `not in` (and `>`, `>=`, `<`, `<=` on dates); `AND`, `OR`, `NOT`, parentheses;
//! `ORDER BY updated|created|key [ASC|DESC]`. Anything else is an error, reported the way
//! Jira reports it, so a client relying on syntax the real service would refuse fails here too.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// A JQL problem, worded like Jira's messages (goes into `errorMessages`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JqlError(pub String);

/// A field a clause can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `project`
    Project,
    /// `key`, `issuekey`, `id`
    Key,
    /// `parent`
    Parent,
    /// `labels`
    Labels,
    /// `issuetype`, `type`
    IssueType,
    /// `status`
    Status,
    /// `"Epic Link"`, `cf[10008]`, `customfield_10008`
    EpicLink,
    /// `created`
    Created,
    /// `updated`
    Updated,
    /// `sprint`, `cf[10020]`, `customfield_10020` (by sprint id)
    Sprint,
    /// An administrator's custom field, `cf[N]` or `customfield_N` (whether it exists is
    /// checked against the state by [`Query::check_custom_fields`]).
    Custom(u64),
}

impl Field {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "project" => Self::Project,
            "key" | "issuekey" | "id" => Self::Key,
            "parent" => Self::Parent,
            "labels" => Self::Labels,
            "issuetype" | "type" => Self::IssueType,
            "status" => Self::Status,
            "epic link" | "cf[10008]" | "customfield_10008" => Self::EpicLink,
            "created" | "createddate" => Self::Created,
            "updated" | "updateddate" => Self::Updated,
            "sprint" | "cf[10020]" | "customfield_10020" => Self::Sprint,
            other => return super::custom::parse_id(other).map(Self::Custom),
        })
    }

    fn is_date(self) -> bool {
        matches!(self, Self::Created | Self::Updated)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// `in (...)`
    In,
    /// `not in (...)`
    NotIn,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

/// A clause's value, already typed for its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text (keys, names, labels).
    Text(String),
    /// A point in time (date fields).
    Time(DateTime<Utc>),
}

/// A filter tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// Does not hold.
    Not(Box<Expr>),
    /// `field op value(s)`.
    Clause {
        /// Tested field.
        field: Field,
        /// Operator.
        op: Op,
        /// One value, or the list of `in`.
        values: Vec<Value>,
    },
}

/// A sort key of `ORDER BY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderField {
    /// By last update.
    Updated,
    /// By creation.
    Created,
    /// By project key, then issue number.
    Key,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// `None` matches everything (empty JQL or only `ORDER BY`).
    pub filter: Option<Expr>,
    /// Sort keys with `true` for descending.
    pub order: Vec<(OrderField, bool)>,
}

/// What the evaluator needs to know about an issue.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// Issue key.
    pub key: &'a str,
    /// Issue id.
    pub id: &'a str,
    /// Project key.
    pub project: &'a str,
    /// Parent (or epic) key.
    pub parent: Option<&'a str>,
    /// Labels.
    pub labels: &'a [String],
    /// Issue type name.
    pub issue_type: &'a str,
    /// Status name.
    pub status: &'a str,
    /// Ids of the sprints the issue is or was in.
    pub sprints: &'a [u64],
    /// Custom field values by field id (`customfield_N`).
    pub custom: &'a std::collections::BTreeMap<String, String>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last update.
    pub updated: DateTime<Utc>,
}

impl Expr {
    /// Whether an issue matches.
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        match self {
            Self::And(a, b) => a.matches(f) && b.matches(f),
            Self::Or(a, b) => a.matches(f) || b.matches(f),
            Self::Not(e) => !e.matches(f),
            Self::Clause { field, op, values } => clause_matches(*field, *op, values, f),
        }
    }
}

fn clause_matches(field: Field, op: Op, values: &[Value], f: &Facts<'_>) -> bool {
    if field.is_date() {
        let at = if field == Field::Created {
            f.created
        } else {
            f.updated
        };
        let times = values.iter().filter_map(|v| match v {
            Value::Time(t) => Some(*t),
            Value::Text(_) => None,
        });
        return match op {
            Op::Eq | Op::In => times.into_iter().any(|t| at == t),
            Op::NotEq | Op::NotIn => times.into_iter().all(|t| at != t),
            Op::Gt => times.into_iter().all(|t| at > t),
            Op::Ge => times.into_iter().all(|t| at >= t),
            Op::Lt => times.into_iter().all(|t| at < t),
            Op::Le => times.into_iter().all(|t| at <= t),
        };
    }
    let texts: Vec<&str> = values
        .iter()
        .filter_map(|v| match v {
            Value::Text(s) => Some(s.as_str()),
            Value::Time(_) => None,
        })
        .collect();
    if let Field::Custom(id) = field {
        // Exact text: `=`/`in` match the value; `!=`/`not in` match other values, never an
        // empty field (as Jira's `!=` does not).
        let value = f.custom.get(&format!("customfield_{id}"));
        return match op {
            Op::Eq | Op::In => value.is_some_and(|v| texts.contains(&v.as_str())),
            _ => value.is_some_and(|v| !texts.contains(&v.as_str())),
        };
    }
    let any = |pred: &dyn Fn(&str) -> bool| texts.iter().any(|t| pred(t));
    let hit = match field {
        Field::Project => any(&|t| t.eq_ignore_ascii_case(f.project)),
        Field::Key => any(&|t| t.eq_ignore_ascii_case(f.key) || t == f.id),
        Field::Parent | Field::EpicLink => {
            any(&|t| f.parent.is_some_and(|p| p.eq_ignore_ascii_case(t)))
        }
        Field::Labels => any(&|t| f.labels.iter().any(|l| l == t)),
        Field::IssueType => any(&|t| t.eq_ignore_ascii_case(f.issue_type)),
        Field::Status => any(&|t| t.eq_ignore_ascii_case(f.status)),
        Field::Sprint => any(&|t| t.parse::<u64>().is_ok_and(|id| f.sprints.contains(&id))),
        Field::Created | Field::Updated | Field::Custom(_) => false,
    };
    match op {
        Op::Eq | Op::In => hit,
        _ => !hit,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Op(&'static str),
    Word(String),
    Str(String),
}

/// Characters Jira reserves: outside quotes they are an error.
const RESERVED: &[char] = &[
    '+', ',', ';', '?', '|', '*', '/', '%', '^', '$', '#', '@', '{', '}', '\'', '"', '~',
];

fn lex(input: &str) -> Result<Vec<(Tok, usize)>, JqlError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((Tok::LParen, at));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, at));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, at));
                i += 1;
            }
            '=' => {
                out.push((Tok::Op("="), at));
                i += 1;
            }
            '!' | '>' | '<' => {
                let two = chars.get(i + 1) == Some(&'=');
                let op = match (c, two) {
                    ('!', true) => "!=",
                    ('>', true) => ">=",
                    ('<', true) => "<=",
                    ('>', false) => ">",
                    ('<', false) => "<",
                    _ => return Err(reserved_char(c, at)),
                };
                out.push((Tok::Op(op), at));
                i += if two { 2 } else { 1 };
            }
            '"' | '\'' => {
                let (s, next) = lex_string(&chars, i)?;
                out.push((Tok::Str(s), at));
                i = next;
            }
            c if RESERVED.contains(&c) => return Err(reserved_char(c, at)),
            _ => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                if i == start {
                    return Err(reserved_char(c, at));
                }
                out.push((Tok::Word(chars[start..i].iter().collect()), at));
            }
        }
    }
    Ok(out)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']' | ':')
}

fn reserved_char(c: char, at: usize) -> JqlError {
    JqlError(format!(
        "Error in the JQL Query: The character '{c}' is a reserved JQL character. You must enclose it in a string or use the escape '\\u{:04x}' instead. (line 1, character {at})",
        u32::from(c)
    ))
}

fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), JqlError> {
    let quote = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            c if c == quote => return Ok((s, i + 1)),
            '\\' => {
                let esc = chars
                    .get(i + 1)
                    .copied()
                    .ok_or_else(|| unterminated(start))?;
                s.push(match esc {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                });
                i += 2;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(unterminated(start))
}

fn unterminated(start: usize) -> JqlError {
    JqlError(format!(
        "Error in the JQL Query: The quoted string starting at character {} is not terminated.",
        start + 1
    ))
}

/// Words that cannot be used unquoted as values.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "order", "by", "asc", "desc", "empty", "null", "is",
];

impl Query {
    /// Checks each custom field the query names against the state: `exact(id)` is `None`
    /// when no field `customfield_{id}` exists (Jira: "does not exist"), `Some(false)` when
    /// it exists but is searched by words, where Jira refuses `=`, `!=`, `in`, `not in`.
    pub fn check_custom_fields(&self, exact: impl Fn(u64) -> Option<bool>) -> Result<(), JqlError> {
        fn walk(e: &Expr, exact: &dyn Fn(u64) -> Option<bool>) -> Result<(), JqlError> {
            match e {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, exact)?;
                    walk(b, exact)
                }
                Expr::Not(e) => walk(e, exact),
                Expr::Clause {
                    field: Field::Custom(id),
                    op,
                    ..
                } => match exact(*id) {
                    None => Err(JqlError(format!(
                        "Field 'cf[{id}]' does not exist or you do not have permission to view it."
                    ))),
                    Some(false) => Err(JqlError(format!(
                        "The operator '{}' is not supported by the 'cf[{id}]' field.",
                        op_text(*op)
                    ))),
                    Some(true) => Ok(()),
                },
                Expr::Clause { .. } => Ok(()),
            }
        }
        match &self.filter {
            Some(e) => walk(e, &exact),
            None => Ok(()),
        }
    }
}

/// Parses a JQL query, absolute dates read in UTC.
pub fn parse(input: &str) -> Result<Query, JqlError> {
    parse_in(input, &jiff::tz::TimeZone::UTC)
}

/// Parses a JQL query as Jira does for a user whose profile time zone is `zone`: absolute
/// dates (`"2024-03-01 10:00"`) are that user's wall-clock time ("Dates are relative to the
/// user's time zone", <https://support.atlassian.com/jira-software-cloud/docs/jql-fields/>).
pub fn parse_in(input: &str, zone: &jiff::tz::TimeZone) -> Result<Query, JqlError> {
    let mut p = Parser {
        toks: lex(input)?,
        pos: 0,
        zone: zone.clone(),
    };
    let filter = if p.at_end() || p.peek_keyword("order") {
        None
    } else {
        Some(p.or_expr()?)
    };
    let mut order = Vec::new();
    if p.peek_keyword("order") {
        p.pos += 1;
        p.expect_keyword("by")?;
        loop {
            order.push(p.order_item()?);
            if p.peek() == Some(&Tok::Comma) {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    if let Some((tok, at)) = p.toks.get(p.pos) {
        return Err(JqlError(format!(
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{}'. (line 1, character {at})",
            tok_text(tok)
        )));
    }
    Ok(Query { filter, order })
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    /// The searching user's time zone (absolute dates are read in it).
    zone: jiff::tz::TimeZone,
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::Comma => ",".into(),
        Tok::Op(o) => (*o).into(),
        Tok::Word(w) => w.clone(),
        Tok::Str(s) => s.clone(),
    }
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn unexpected(&self, expecting: &str) -> JqlError {
        match self.toks.get(self.pos) {
            Some((tok, at)) => JqlError(format!(
                "Error in the JQL Query: Expecting {expecting} but got '{}'. (line 1, character {at})",
                tok_text(tok)
            )),
            None => JqlError(format!(
                "Error in the JQL Query: Expecting {expecting} but reached the end of the query."
            )),
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), JqlError> {
        if self.peek_keyword(kw) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", kw.to_ascii_uppercase())))
        }
    }

    fn or_expr(&mut self) -> Result<Expr, JqlError> {
        let mut left = self.and_expr()?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, JqlError> {
        let mut left = self.not_expr()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.not_expr()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, JqlError> {
        if self.peek_keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or_expr()?;
            if self.peek() != Some(&Tok::RParen) {
                return Err(self.unexpected("')'"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.clause()
    }

    fn clause(&mut self) -> Result<Expr, JqlError> {
        let name = match self.peek() {
            Some(Tok::Word(w)) if !KEYWORDS.contains(&w.to_ascii_lowercase().as_str()) => w.clone(),
            Some(Tok::Str(s)) => s.clone(),
            _ => return Err(self.unexpected("a field name")),
        };
        let field = Field::from_name(&name).ok_or_else(|| {
            JqlError(format!(
                "Field '{name}' does not exist or you do not have permission to view it."
            ))
        })?;
        self.pos += 1;
        let op = self.operator()?;
        let allowed = match op {
            Op::Eq | Op::NotEq | Op::In | Op::NotIn => true,
            Op::Gt | Op::Ge | Op::Lt | Op::Le => field.is_date(),
        };
        if !allowed {
            return Err(JqlError(format!(
                "The operator '{}' is not supported by the '{name}' field.",
                op_text(op)
            )));
        }
        let raw = if matches!(op, Op::In | Op::NotIn) {
            self.value_list()?
        } else {
            vec![self.value()?]
        };
        let values = raw
            .into_iter()
            .map(|v| typed_value(field, &name, v, &self.zone))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Expr::Clause { field, op, values })
    }

    fn operator(&mut self) -> Result<Op, JqlError> {
        let op = match self.peek() {
            Some(Tok::Op(o)) => match *o {
                "=" => Op::Eq,
                "!=" => Op::NotEq,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "<" => Op::Lt,
                _ => Op::Le,
            },
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                if !self.peek_keyword("in") {
                    return Err(self.unexpected("'IN'"));
                }
                Op::NotIn
            }
            _ => return Err(self.unexpected("operator")),
        };
        self.pos += 1;
        Ok(op)
    }

    fn value(&mut self) -> Result<String, JqlError> {
        let v = match self.peek() {
            Some(Tok::Str(s)) => s.clone(),
            Some(Tok::Word(w)) if !KEYWORDS.contains(&w.to_ascii_lowercase().as_str()) => w.clone(),
            _ => return Err(self.unexpected("either a value, list or function")),
        };
        self.pos += 1;
        Ok(v)
    }

    fn value_list(&mut self) -> Result<Vec<String>, JqlError> {
        if self.peek() != Some(&Tok::LParen) {
            return Err(self.unexpected("'('"));
        }
        self.pos += 1;
        let mut values = vec![self.value()?];
        loop {
            match self.peek() {
                Some(Tok::Comma) => {
                    self.pos += 1;
                    values.push(self.value()?);
                }
                Some(Tok::RParen) => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.unexpected("',' or ')'")),
            }
        }
    }

    fn order_item(&mut self) -> Result<(OrderField, bool), JqlError> {
        let name = match self.peek() {
            Some(Tok::Word(w)) => w.clone(),
            Some(Tok::Str(s)) => s.clone(),
            _ => return Err(self.unexpected("a field name")),
        };
        let field = match name.to_ascii_lowercase().as_str() {
            "updated" | "updateddate" => OrderField::Updated,
            "created" | "createddate" => OrderField::Created,
            "key" | "issuekey" | "id" => OrderField::Key,
            _ => {
                return Err(JqlError(format!("Not able to sort using field '{name}'.")));
            }
        };
        self.pos += 1;
        let mut desc = false;
        if self.peek_keyword("desc") {
            desc = true;
            self.pos += 1;
        } else if self.peek_keyword("asc") {
            self.pos += 1;
        }
        Ok((field, desc))
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::NotEq => "!=",
        Op::In => "in",
        Op::NotIn => "not in",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
    }
}

fn typed_value(
    field: Field,
    name: &str,
    raw: String,
    zone: &jiff::tz::TimeZone,
) -> Result<Value, JqlError> {
    if !field.is_date() {
        return Ok(Value::Text(raw));
    }
    parse_date(&raw, zone).map(Value::Time).ok_or_else(|| {
        JqlError(format!(
            "Date value '{raw}' for field '{name}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
        ))
    })
}

/// Jira's absolute date forms, read as wall-clock time in the user's `zone` (a time that
/// occurs twice when clocks go back is read at its earlier instant), or epoch milliseconds.
pub fn parse_date(raw: &str, zone: &jiff::tz::TimeZone) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return Utc.timestamp_millis_opt(raw.parse().ok()?).single();
    }
    let in_zone = |t: NaiveDateTime| {
        let civil = jiff::civil::DateTime::new(
            i16::try_from(t.year()).ok()?,
            i8::try_from(t.month()).ok()?,
            i8::try_from(t.day()).ok()?,
            i8::try_from(t.hour()).ok()?,
            i8::try_from(t.minute()).ok()?,
            0,
            0,
        )
        .ok()?;
        let ms = civil
            .to_zoned(zone.clone())
            .ok()?
            .timestamp()
            .as_millisecond();
        Utc.timestamp_millis_opt(ms).single()
    };
    for fmt in ["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, fmt) {
            return in_zone(t);
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(raw, fmt) {
            return in_zone(d.and_hms_opt(0, 0, 0)?);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn clause(field: Field, op: Op, values: Vec<Value>) -> Expr {
        Expr::Clause { field, op, values }
    }

    #[test]
    fn dates_are_read_in_the_users_time_zone() {
        let ny = jiff::tz::TimeZone::get("America/New_York").expect("zone");
        // 10:00 in New York on 1 March 2024 (EST, UTC-5) is 15:00 UTC; in July (EDT) 14:00.
        let winter = Utc.with_ymd_and_hms(2024, 3, 1, 15, 0, 0).single();
        assert_eq!(parse_date("2024-03-01 10:00", &ny), winter);
        let summer = Utc.with_ymd_and_hms(2024, 7, 1, 14, 0, 0).single();
        assert_eq!(parse_date("2024/07/01 10:00", &ny), summer);
        // A date alone is the user's midnight; epoch milliseconds have no zone.
        let midnight = Utc.with_ymd_and_hms(2024, 3, 1, 5, 0, 0).single();
        assert_eq!(parse_date("2024-03-01", &ny), midnight);
        assert_eq!(
            parse_date("1709287200000", &ny),
            Utc.timestamp_millis_opt(1_709_287_200_000).single()
        );
        // The wall time that occurs twice (3 Nov 2024, 01:30) is read at its earlier instant.
        let fold = Utc.with_ymd_and_hms(2024, 11, 3, 5, 30, 0).single();
        assert_eq!(parse_date("2024-11-03 01:30", &ny), fold);
        let q = parse_in(r#"updated >= "2024-03-01 10:00""#, &ny).expect("parse");
        assert_eq!(
            q.filter,
            Some(Expr::Clause {
                field: Field::Updated,
                op: Op::Ge,
                values: vec![Value::Time(winter.expect("time"))],
            })
        );
    }

    #[test]
    fn parses_the_supported_subset() {
        let t = |s: &str| {
            Utc.with_ymd_and_hms(2024, 3, 1, 9, 30, 0)
                .single()
                .filter(|_| !s.is_empty())
        };
        let cases: Vec<(&str, Query)> = vec![
            ("", Query::default()),
            (
                "project = SRE",
                Query {
                    filter: Some(clause(Field::Project, Op::Eq, vec![text("SRE")])),
                    order: vec![],
                },
            ),
            (
                r#"labels = "council-sync-i1" AND issuetype = "Epic""#,
                Query {
                    filter: Some(Expr::And(
                        Box::new(clause(Field::Labels, Op::Eq, vec![text("council-sync-i1")])),
                        Box::new(clause(Field::IssueType, Op::Eq, vec![text("Epic")])),
                    )),
                    order: vec![],
                },
            ),
            (
                "key in (SRE-1, 'SRE-2') ORDER BY key DESC, updated",
                Query {
                    filter: Some(clause(
                        Field::Key,
                        Op::In,
                        vec![text("SRE-1"), text("SRE-2")],
                    )),
                    order: vec![(OrderField::Key, true), (OrderField::Updated, false)],
                },
            ),
            (
                r#"updated >= "2024-03-01 09:30""#,
                Query {
                    filter: Some(clause(
                        Field::Updated,
                        Op::Ge,
                        vec![Value::Time(t("x").expect("t"))],
                    )),
                    order: vec![],
                },
            ),
            (
                "updated >= 1709285400000",
                Query {
                    filter: Some(clause(
                        Field::Updated,
                        Op::Ge,
                        vec![Value::Time(t("x").expect("t"))],
                    )),
                    order: vec![],
                },
            ),
            (
                "ORDER BY created ASC",
                Query {
                    filter: None,
                    order: vec![(OrderField::Created, false)],
                },
            ),
            (
                r#""Epic Link" = SRE-1 and labels not in ("a b", "c\"d")"#,
                Query {
                    filter: Some(Expr::And(
                        Box::new(clause(Field::EpicLink, Op::Eq, vec![text("SRE-1")])),
                        Box::new(clause(
                            Field::Labels,
                            Op::NotIn,
                            vec![text("a b"), text("c\"d")],
                        )),
                    )),
                    order: vec![],
                },
            ),
        ];
        for (jql, want) in cases {
            assert_eq!(parse(jql), Ok(want), "parsing {jql:?}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_override() {
        let a = || Box::new(clause(Field::Project, Op::Eq, vec![text("A")]));
        let b = || Box::new(clause(Field::Project, Op::Eq, vec![text("B")]));
        let c = || Box::new(clause(Field::Labels, Op::Eq, vec![text("c")]));
        assert_eq!(
            parse("project = A OR project = B AND labels = c").map(|q| q.filter),
            Ok(Some(Expr::Or(a(), Box::new(Expr::And(b(), c())))))
        );
        assert_eq!(
            parse("(project = A OR project = B) AND labels = c").map(|q| q.filter),
            Ok(Some(Expr::And(Box::new(Expr::Or(a(), b())), c())))
        );
    }

    #[test]
    fn rejects_what_jira_rejects() {
        let cases = [
            ("labels = council/x", "reserved JQL character"),
            ("foo = 1", "Field 'foo' does not exist"),
            ("labels >= x", "operator '>=' is not supported"),
            ("project = ", "Expecting either a value"),
            ("project SRE", "Expecting operator"),
            ("(project = A", "Expecting ')'"),
            ("project = A project = B", "Expecting either 'OR' or 'AND'"),
            ("labels in a", "Expecting '('"),
            ("labels = \"open", "not terminated"),
            ("updated >= \"yesterday\"", "is invalid"),
            ("project = A ORDER BY rank", "Not able to sort"),
            ("project = and", "Expecting either a value"),
            ("project = A ORDER updated", "Expecting 'BY'"),
        ];
        for (jql, needle) in cases {
            match parse(jql) {
                Err(JqlError(msg)) => assert!(msg.contains(needle), "{jql:?}: {msg}"),
                Ok(q) => panic!("{jql:?} parsed: {q:?}"),
            }
        }
    }

    #[test]
    fn evaluates_clauses() {
        let at = |m: u32| {
            Utc.with_ymd_and_hms(2024, 3, 1, 10, m, 0)
                .single()
                .unwrap_or_default()
        };
        let labels = vec!["council-sync".to_owned(), "council-sync-i7".to_owned()];
        let custom = std::collections::BTreeMap::new();
        let facts = Facts {
            key: "PAY-3",
            id: "10003",
            project: "PAY",
            parent: Some("SRE-1"),
            labels: &labels,
            issue_type: "Story",
            status: "To Do",
            custom: &custom,
            sprints: &[4],
            created: at(0),
            updated: at(30),
        };
        let cases = [
            ("project = pay", true),
            ("key = PAY-3 AND id = 10003", true),
            ("parent = SRE-1", true),
            ("cf[10008] = SRE-2", false),
            ("labels in (x, \"council-sync-i7\")", true),
            ("labels != council-sync", false),
            ("NOT issuetype = Epic", true),
            ("status = \"To Do\"", true),
            ("sprint = 4 AND sprint not in (5)", true),
            ("sprint = 5", false),
            ("updated >= \"2024-03-01 10:30\"", true),
            ("updated > \"2024-03-01 10:30\"", false),
            (
                "created < \"2024-03-01 10:01\" AND (project = X OR labels = council-sync)",
                true,
            ),
        ];
        for (jql, want) in cases {
            let q = parse(jql).unwrap_or_else(|e| panic!("{jql}: {e}"));
            let got = q.filter.as_ref().is_none_or(|f| f.matches(&facts));
            assert_eq!(got, want, "{jql}");
        }
    }
}
