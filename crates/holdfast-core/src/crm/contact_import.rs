//! CSV import and export of contacts, the pure part: reading the file (strict about encoding,
//! quotes and the header), mapping columns to contact fields, checking every row, finding
//! duplicates inside the file, and escaping exported cells against formula injection. The
//! store looks existing contacts up; the worker writes.

use crate::crm::consent::{Channel, Status as ConsentStatus};
use crate::crm::contact_fields::{self, FieldDef};
use crate::crm::contacts::check_tags;
use crate::validate::{self, Errors, FieldError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The largest CSV body accepted (413 above).
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
/// Data rows in one import.
pub const MAX_ROWS: usize = 100_000;
/// Row errors kept in a report; the counts stay exact.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// Where a CSV column goes. New targets (consent, …) are added here and in [`Target::STANDARD`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Name,
    Email,
    Phone,
    Company,
    /// Tags separated by `,` or `;`.
    Tags,
    /// `custom.<key>`: a custom field of the workspace.
    Custom(String),
    /// `consent.<channel>`: `granted`/`yes`/`true`/`1` or `denied`/`no`/`false`/`0` (lawful
    /// basis `consent`, source `import`; double opt-in applies to grants).
    Consent(Channel),
    /// `do_not_contact`: the master switch, `yes`/`no`.
    DoNotContact,
    Ignore,
}

impl Target {
    /// Every target that is not a custom field, by its name in a mapping.
    pub const STANDARD: &'static [(&'static str, Target)] = &[
        ("name", Target::Name),
        ("email", Target::Email),
        ("phone", Target::Phone),
        ("company", Target::Company),
        ("tags", Target::Tags),
        ("do_not_contact", Target::DoNotContact),
        ("ignore", Target::Ignore),
    ];

    pub fn parse(text: &str, defs: &[FieldDef]) -> Result<Target, String> {
        if let Some((_, t)) = Self::STANDARD.iter().find(|(n, _)| *n == text) {
            return Ok(t.clone());
        }
        if let Some(channel) = text.strip_prefix("consent.") {
            return Channel::parse(channel).map(Target::Consent).ok_or_else(|| {
                format!(
                    "'{text}' is not a consent channel; use consent.<{}>",
                    Channel::names().replace(", ", "|")
                )
            });
        }
        if let Some(key) = text.strip_prefix("custom.") {
            if defs.iter().any(|d| d.key == key) {
                return Ok(Target::Custom(key.to_owned()));
            }
            return Err(format!("'{text}' is not a custom field of this workspace"));
        }
        let names: Vec<&str> = Self::STANDARD.iter().map(|(n, _)| *n).collect();
        Err(format!(
            "'{text}' is not a target; use one of {} or custom.<key>",
            names.join(", ")
        ))
    }

    pub fn name(&self) -> String {
        match self {
            Target::Custom(key) => format!("custom.{key}"),
            Target::Consent(channel) => format!("consent.{}", channel.as_str()),
            other => Self::STANDARD
                .iter()
                .find(|(_, t)| t == other)
                .map(|(n, _)| (*n).to_owned())
                .unwrap_or_default(),
        }
    }
}

/// What happens when some rows are invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Any invalid row: nothing is written.
    #[default]
    AllOrNothing,
    /// Invalid rows are skipped and reported; the others are written.
    SkipInvalid,
}

impl ImportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::AllOrNothing => "all_or_nothing",
            ImportMode::SkipInvalid => "skip_invalid",
        }
    }
    pub fn parse(text: &str) -> Option<ImportMode> {
        [ImportMode::AllOrNothing, ImportMode::SkipInvalid]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// One problem with one row. `row` is the line the row starts on, the header being line 1
/// (the spreadsheet row, unless a cell spans lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RowError {
    pub row: u64,
    /// The CSV column (its header), when the problem is in one cell.
    pub column: Option<String>,
    pub message: String,
}

/// A CSV read into its header and records (each with its row number).
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    pub records: Vec<(u64, Vec<String>)>,
}

/// Why a file cannot be imported at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

/// Finds a quoted field that never closes (the `csv` reader would silently read it to the end
/// of the file): RFC 4180 quoting, where a quote opens a field only at its start and `""`
/// inside a quoted field is a literal quote. Returns the row where the open quote started.
fn unclosed_quote(text: &str) -> Option<u64> {
    let mut row: u64 = 1;
    let mut at_field_start = true;
    let mut quoted_since: Option<u64> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted_since.is_some() {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                }
                '"' => quoted_since = None,
                '\n' => row += 1,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted_since = Some(row);
                at_field_start = false;
            }
            ',' => at_field_start = true,
            '\n' => {
                row += 1;
                at_field_start = true;
            }
            '\r' => at_field_start = true,
            _ => at_field_start = false,
        }
    }
    quoted_since
}

/// Reads a CSV file: UTF-8 (a byte-order mark is dropped), comma-separated, a header row of
/// distinct non-empty names, at most [`MAX_ROWS`] data rows. Blank lines are skipped.
pub fn read_csv(bytes: &[u8]) -> Result<Table, Malformed> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return Err(Malformed(format!(
                "the file is not UTF-8 text (invalid bytes on line {line}); save it as CSV UTF-8 and send it again"
            )));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() + 1;
        return Err(Malformed(format!(
            "the file contains a NUL byte on line {line}; it is not a text CSV file"
        )));
    }
    if let Some(row) = unclosed_quote(text) {
        return Err(Malformed(format!(
            "a quoted field that starts on line {row} is never closed (unbalanced \"); check that quotes inside fields are doubled (\"\")"
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let headers: Vec<String> = match records.next() {
        None => {
            return Err(Malformed(
                "the file is empty; the first line must be a header naming the columns".into(),
            ));
        }
        Some(Err(e)) => return Err(Malformed(format!("the header row cannot be read: {e}"))),
        Some(Ok(r)) => r.iter().map(|h| h.trim().to_owned()).collect(),
    };
    if headers.iter().all(String::is_empty) {
        return Err(Malformed(
            "the first line must be a header naming the columns (it is empty)".into(),
        ));
    }
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(Malformed(format!(
                "column {} of the header has no name; every column needs one",
                i + 1
            )));
        }
        if headers[..i].contains(h) {
            return Err(Malformed(format!(
                "the header names the column '{h}' twice; column names must be distinct"
            )));
        }
    }
    let mut out = Vec::new();
    for (index, record) in records.enumerate() {
        let record =
            record.map_err(|e| Malformed(format!("row {} cannot be read: {e}", index + 2)))?;
        // The line the row starts on (the header is line 1): what an editor shows, and the
        // spreadsheet row unless a cell spans lines.
        let row = record
            .position()
            .map(|p| p.line())
            .unwrap_or(index as u64 + 2);
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if out.len() == MAX_ROWS {
            return Err(Malformed(format!(
                "the file has more than {MAX_ROWS} rows; split it into smaller files"
            )));
        }
        out.push((row, record.iter().map(str::to_owned).collect()));
    }
    Ok(Table {
        headers,
        records: out,
    })
}

/// The target a column's header name suggests (`E-mail` → email, `custom.colour` or `colour`
/// → that custom field…), `Ignore` when it suggests none: the mapping used without one, and
/// the console wizard's first guess.
pub fn auto_target(header: &str, defs: &[FieldDef]) -> Target {
    let norm: String = header
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    match norm.as_str() {
        "name" | "full_name" | "contact_name" => Target::Name,
        "email" | "e_mail" | "email_address" => Target::Email,
        "phone" | "phone_number" | "mobile" | "telephone" => Target::Phone,
        "company" | "company_name" | "organization" | "organisation" => Target::Company,
        "tags" | "labels" => Target::Tags,
        "do_not_contact" | "dnc" => Target::DoNotContact,
        other if other.starts_with("consent.") => other
            .strip_prefix("consent.")
            .and_then(Channel::parse)
            .map(Target::Consent)
            .unwrap_or(Target::Ignore),
        other => {
            let key = other.strip_prefix("custom.").unwrap_or(other);
            if defs.iter().any(|d| d.key == key) {
                Target::Custom(key.to_owned())
            } else {
                Target::Ignore
            }
        }
    }
}

/// The target of every column: from `mapping` (CSV column → target; unmapped columns are
/// ignored), or guessed from the header names. Errors name `mapping.<column>`.
pub fn resolve_mapping(
    headers: &[String],
    mapping: Option<&BTreeMap<String, String>>,
    defs: &[FieldDef],
) -> Result<Vec<Target>, Vec<FieldError>> {
    let mut errors = Errors::default();
    let targets: Vec<Target> = match mapping {
        None => headers.iter().map(|h| auto_target(h, defs)).collect(),
        Some(mapping) => {
            for (column, target) in mapping {
                if !headers.contains(column) {
                    errors.push(
                        format!("mapping.{column}"),
                        format!(
                            "the CSV has no column '{column}'; its columns: {}",
                            headers.join(", ")
                        ),
                    );
                }
                if let Err(message) = Target::parse(target, defs) {
                    errors.push(format!("mapping.{column}"), message);
                }
            }
            headers
                .iter()
                .map(|h| {
                    mapping
                        .get(h)
                        .and_then(|t| Target::parse(t, defs).ok())
                        .unwrap_or(Target::Ignore)
                })
                .collect()
        }
    };
    let mut seen: HashMap<&Target, &str> = HashMap::new();
    for (header, target) in headers.iter().zip(&targets) {
        if *target == Target::Ignore {
            continue;
        }
        if let Some(first) = seen.insert(target, header) {
            errors.push(
                format!("mapping.{header}"),
                format!(
                    "'{first}' and '{header}' both map to {}; map one of them to ignore",
                    target.name()
                ),
            );
        }
    }
    if !targets
        .iter()
        .any(|t| matches!(t, Target::Name | Target::Email | Target::Phone))
    {
        errors.push(
            "mapping",
            format!(
                "no column maps to name, email or phone (columns: {}); send a mapping such as {{\"Full name\": \"name\"}}",
                headers.join(", ")
            ),
        );
    }
    errors.finish(targets)
}

/// A valid row: only the mapped, non-empty cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportRow {
    pub row: u64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    pub custom: BTreeMap<String, Value>,
    /// Consent per channel from `consent.<channel>` columns.
    pub consent: Vec<(Channel, ConsentStatus)>,
    pub do_not_contact: Option<bool>,
}

/// A yes/no cell: `granted`, `yes`, `y`, `true`, `1`, `opt-in` or `denied`, `no`, `n`,
/// `false`, `0`, `opt-out` (any case).
fn yes_no(cell: &str) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "granted" | "yes" | "y" | "true" | "1" | "opt-in" | "opted in" => Some(true),
        "denied" | "no" | "n" | "false" | "0" | "opt-out" | "opted out" => Some(false),
        _ => None,
    }
}

impl ImportRow {
    /// The email as de-duplication compares it.
    pub fn email_key(&self) -> Option<String> {
        self.email.as_ref().map(|e| e.to_lowercase())
    }
}

/// Checks every record against the mapping: `Ok` rows are ready to write, `Err` rows carry
/// every problem of the row.
pub fn check_rows(
    table: &Table,
    targets: &[Target],
    defs: &[FieldDef],
) -> Vec<Result<ImportRow, Vec<RowError>>> {
    table
        .records
        .iter()
        .map(|(row, cells)| check_row(*row, &table.headers, cells, targets, defs))
        .collect()
}

fn check_row(
    row: u64,
    headers: &[String],
    cells: &[String],
    targets: &[Target],
    defs: &[FieldDef],
) -> Result<ImportRow, Vec<RowError>> {
    let mut problems = Vec::new();
    if cells.len() != headers.len() {
        problems.push(RowError {
            row,
            column: None,
            message: format!(
                "has {} fields but the header has {}",
                cells.len(),
                headers.len()
            ),
        });
        return Err(problems);
    }
    let mut out = ImportRow {
        row,
        ..ImportRow::default()
    };
    for ((header, target), cell) in headers.iter().zip(targets).zip(cells) {
        let cell = cell.trim();
        if cell.is_empty() || *target == Target::Ignore {
            continue;
        }
        if let Err(e) = read_cell(&mut out, target, cell, defs) {
            problems.push(RowError {
                row,
                column: Some(header.clone()),
                message: format!("{}: {}", target.name(), e.message),
            });
        }
    }
    if problems.is_empty() && out.name.is_none() && out.email.is_none() && out.phone.is_none() {
        problems.push(RowError {
            row,
            column: None,
            message: "needs at least one of name, email or phone".into(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Reads one non-empty cell into the row under its column's target, or says what is wrong
/// with it.
fn read_cell(
    out: &mut ImportRow,
    target: &Target,
    cell: &str,
    defs: &[FieldDef],
) -> Result<(), FieldError> {
    let field = target.name();
    match target {
        Target::Name => validate::text(&field, cell, 1, 200).map(|v| out.name = Some(v)),
        Target::Email => validate::email(&field, cell).map(|v| out.email = Some(v)),
        Target::Phone => validate::phone(&field, cell).map(|v| out.phone = Some(v)),
        Target::Company => validate::text(&field, cell, 1, 200).map(|v| out.company = Some(v)),
        Target::Tags => {
            out.tags = read_tags(cell)?;
            Ok(())
        }
        Target::Custom(key) => match defs.iter().find(|d| &d.key == key) {
            Some(def) => contact_fields::parse_text(def, &field, cell).map(|v| {
                out.custom.insert(key.clone(), v);
            }),
            None => Err(FieldError::new(&field, "is not a custom field")),
        },
        Target::Consent(channel) => match yes_no(cell) {
            Some(yes) => {
                let status = if yes {
                    ConsentStatus::Granted
                } else {
                    ConsentStatus::Denied
                };
                out.consent.push((*channel, status));
                Ok(())
            }
            None => Err(FieldError::new(
                &field,
                "must be granted or denied (yes/no, true/false, 1/0)",
            )),
        },
        Target::DoNotContact => match yes_no(cell) {
            Some(on) => {
                out.do_not_contact = Some(on);
                Ok(())
            }
            None => Err(FieldError::new(&field, "must be yes or no")),
        },
        Target::Ignore => Ok(()),
    }
}

/// The tags of a cell (split on commas and semicolons), checked as a contact's tags are; the
/// first problem otherwise.
fn read_tags(cell: &str) -> Result<Vec<String>, FieldError> {
    let tags: Vec<String> = cell
        .split([',', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let mut errors = Errors::default();
    let tags = check_tags(&mut errors, &tags);
    match errors.finish(()) {
        Ok(()) => Ok(tags),
        Err(e) => Err(FieldError::new(
            "tags",
            e.first().map(|e| e.message.clone()).unwrap_or_default(),
        )),
    }
}

/// For each row, the earlier row it repeats (same email, or else same phone), if any. Only
/// valid rows are compared.
pub fn duplicates(rows: &[Result<ImportRow, Vec<RowError>>]) -> Vec<Option<u64>> {
    let mut emails: HashMap<String, u64> = HashMap::new();
    let mut phones: HashMap<String, u64> = HashMap::new();
    rows.iter()
        .map(|r| {
            let Ok(row) = r else { return None };
            let by_email = row.email_key().and_then(|e| emails.get(&e).copied());
            let by_phone = row.phone.as_ref().and_then(|p| phones.get(p).copied());
            let first = by_email.or(by_phone);
            if first.is_none() {
                if let Some(e) = row.email_key() {
                    emails.insert(e, row.row);
                }
                if let Some(p) = &row.phone {
                    phones.insert(p.clone(), row.row);
                }
            }
            first
        })
        .collect()
}

/// The custom fields a new contact lacks (required ones); for a row that creates a contact.
pub fn missing_required(row: &ImportRow, defs: &[FieldDef]) -> Vec<RowError> {
    defs.iter()
        .filter(|d| d.required && !row.custom.contains_key(&d.key))
        .map(|d| RowError {
            row: row.row,
            column: None,
            message: format!(
                "custom.{}: is required ({}) for a new contact",
                d.key, d.label
            ),
        })
        .collect()
}

/// A CSV cell as exported: text a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading `'`, which spreadsheets show as text.
pub fn escape_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// One CSV line (with its line break) of already escaped cells, quoted where needed.
pub fn csv_line(cells: &[String]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail; an error would leave the line empty, never a panic.
    let _ = writer.write_record(cells);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Options of an import, as stored with it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ImportOptions {
    pub mode: ImportMode,
    #[serde(default)]
    pub mapping: Option<BTreeMap<String, String>>,
}

/// An import as stored (without its file).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ImportOut {
    pub id: String,
    /// `queued`, `running`, `done` or `failed` (all-or-nothing with invalid rows, or a file
    /// that no longer reads).
    pub status: String,
    pub mode: String,
    pub rows_total: i64,
    pub rows_processed: i64,
    pub created: i64,
    pub updated: i64,
    /// Invalid rows and duplicates inside the file that were not written.
    pub skipped: i64,
    /// Problems by row (the first 1000).
    pub errors: Vec<RowError>,
    pub failure: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::contact_fields::FieldType;
    use serde_json::json;

    #[test]
    fn consent_columns_map_and_check_their_cells() {
        use crate::crm::consent::Channel;
        assert_eq!(
            Target::parse("consent.sms", &[]),
            Ok(Target::Consent(Channel::Sms))
        );
        assert!(Target::parse("consent.fax", &[]).is_err());
        assert_eq!(
            Target::parse("do_not_contact", &[]),
            Ok(Target::DoNotContact)
        );
        assert_eq!(Target::Consent(Channel::Email).name(), "consent.email");
        assert_eq!(yes_no("Opt-In"), Some(true));
        assert_eq!(yes_no("N"), Some(false));
        assert_eq!(yes_no("maybe"), None);
    }

    fn defs() -> Vec<FieldDef> {
        vec![
            FieldDef {
                key: "tier".into(),
                label: "Tier".into(),
                field_type: FieldType::Select,
                options: vec!["gold".into(), "silver".into()],
                required: false,
            },
            FieldDef {
                key: "seats".into(),
                label: "Seats".into(),
                field_type: FieldType::Number,
                options: vec![],
                required: true,
            },
        ]
    }

    #[test]
    fn malformed_files_are_refused_with_a_reason() {
        let err = |bytes: &[u8]| read_csv(bytes).unwrap_err().0;
        assert!(err(b"").contains("empty"));
        assert!(err(b"name,email\n\"Ada,ada@example.com\n").contains("line 2"));
        assert!(err(b"name,email\nAd\xffa,x\n").contains("UTF-8"));
        assert!(err(b"name\nA\0da\n").contains("NUL byte on line 2"));
        assert!(err(b"name,name\nA,B\n").contains("twice"));
        assert!(err(b"name,\nA,B\n").contains("no name"));
        assert!(err(b" , \nA,B\n").contains("header"));
    }

    #[test]
    fn quoting_newlines_bom_and_blank_lines_are_read() {
        let t = read_csv(
            "\u{feff}name,notes\n\"Lovelace, Ada\",\"says \"\"hi\"\"\nthen leaves\"\n\n,\nBob,x\"y\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(t.headers, vec!["name", "notes"]);
        assert_eq!(t.records.len(), 2);
        assert_eq!(t.records[0].1[0], "Lovelace, Ada");
        assert_eq!(t.records[0].1[1], "says \"hi\"\nthen leaves");
        assert_eq!(t.records[1].0, 6, "rows count records, the header is row 1");
        assert_eq!(
            t.records[1].1[1], "x\"y",
            "a quote inside a bare field is literal"
        );
    }

    #[test]
    fn mapping_is_explicit_or_guessed_and_checked() {
        let headers: Vec<String> = ["Full Name", "E-mail", "Seats", "Notes"]
            .map(String::from)
            .to_vec();
        let guessed = resolve_mapping(&headers, None, &defs()).unwrap();
        assert_eq!(
            guessed,
            vec![
                Target::Name,
                Target::Email,
                Target::Custom("seats".into()),
                Target::Ignore
            ]
        );
        let explicit: BTreeMap<String, String> = [
            ("Notes".to_owned(), "custom.tier".to_owned()),
            ("E-mail".to_owned(), "email".to_owned()),
        ]
        .into();
        let mapped = resolve_mapping(&headers, Some(&explicit), &defs()).unwrap();
        assert_eq!(
            mapped,
            vec![
                Target::Ignore,
                Target::Email,
                Target::Ignore,
                Target::Custom("tier".into())
            ]
        );
        let bad: BTreeMap<String, String> = [
            ("Missing".to_owned(), "email".to_owned()),
            ("Notes".to_owned(), "custom.nope".to_owned()),
            ("Seats".to_owned(), "salary".to_owned()),
            ("Full Name".to_owned(), "name".to_owned()),
            ("E-mail".to_owned(), "name".to_owned()),
        ]
        .into();
        let errs = resolve_mapping(&headers, Some(&bad), &defs()).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "mapping.Missing",
                "mapping.Notes",
                "mapping.Seats",
                "mapping.E-mail"
            ]
        );
        let none = resolve_mapping(&["Notes".to_owned()], None, &defs()).unwrap_err();
        assert_eq!(none[0].field, "mapping");
    }

    #[test]
    fn rows_are_checked_cell_by_cell_and_duplicates_found() {
        let t = read_csv(
            b"name,email,phone,tags,tier,seats\n\
              Ada,ada@example.com,+44 20 7946 0958,VIP; north,gold,3\n\
              ,not-an-email,123,,bronze,many\n\
              Bob,,,,,\n\
              Ada again,ADA@example.com,,,,\n\
              Carol,,+442079460958,,,\n\
              Dan,dan@example.com\n",
        )
        .unwrap();
        let targets = resolve_mapping(&t.headers, None, &defs()).unwrap();
        let rows = check_rows(&t, &targets, &defs());
        let ada = rows[0].as_ref().unwrap();
        assert_eq!(ada.phone.as_deref(), Some("+442079460958"));
        assert_eq!(ada.tags, vec!["vip", "north"]);
        assert_eq!(ada.custom["seats"], json!(3));
        let errs = rows[1].as_ref().unwrap_err();
        let columns: Vec<Option<&str>> = errs.iter().map(|e| e.column.as_deref()).collect();
        assert_eq!(
            columns,
            vec![Some("email"), Some("phone"), Some("tier"), Some("seats")]
        );
        assert!(errs.iter().all(|e| e.row == 3));
        assert!(rows[2].is_ok(), "a name alone is a contact");
        assert!(
            rows[5].as_ref().unwrap_err()[0]
                .message
                .contains("header has 6")
        );
        let dups = duplicates(&rows);
        assert_eq!(dups, vec![None, None, None, Some(2), Some(2), None]);
        assert_eq!(
            missing_required(rows[2].as_ref().unwrap(), &defs()).len(),
            1
        );
    }

    #[test]
    fn formulas_are_escaped() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(escape_cell(bad), format!("'{bad}"));
        }
        assert_eq!(escape_cell("Ada"), "Ada");
        assert_eq!(
            csv_line(&["a,b".into(), "say \"hi\"".into(), escape_cell("=1")]),
            "\"a,b\",\"say \"\"hi\"\"\",'=1\r\n"
        );
        assert_eq!(escape_cell(""), "");
    }

    #[test]
    fn targets_round_trip() {
        for (name, target) in Target::STANDARD {
            assert_eq!(Target::parse(name, &[]).unwrap(), *target);
            assert_eq!(target.name(), *name);
        }
        assert_eq!(
            Target::parse("custom.tier", &defs()).unwrap().name(),
            "custom.tier"
        );
        assert!(Target::parse("custom.nope", &defs()).is_err());
        assert_eq!(
            ImportMode::parse("skip_invalid"),
            Some(ImportMode::SkipInvalid)
        );
    }
}
