//! The invoice PDF read back by a real PDF reader: poppler's `pdftotext -layout` must find
//! every piece of text the document holds (accents and € included), and `pdfinfo` its pages
//! and title. Skipped with a note when poppler-utils is missing, except under `CI=true`,
//! where that fails (`.ci/run` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use holdfast_core::invoicing::pdf::{DocumentLine, InvoiceDocument, Party, TaxRow, render};

const LONG_DESCRIPTION: &str = "Quarterly deep clean of the whole building: all windows inside and \
     out, façades, skylights, gutters and the underground car park, with materials and waste \
     removal included";

/// Whether poppler-utils can run here; under `CI=true` its absence fails the test.
fn poppler_available() -> bool {
    let found = Command::new("pdftotext")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("pdfinfo")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("pdftotext/pdfinfo (poppler-utils) are missing under CI=true");
        }
        eprintln!("PDF text test skipped: install poppler-utils (CI does)");
    }
    found
}

/// Runs `tool args… -` with the PDF on standard input (`pdfinfo` reads a file, so the PDF is
/// written to a temporary file for both).
fn run(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("holdfast-pdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tool}-{}.pdf", unique()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(pdf)
        .unwrap();
    let mut command = Command::new(tool);
    command.args(args).arg(&path);
    if tool == "pdftotext" {
        command.arg("-");
    }
    let output = command.output().unwrap();
    std::fs::remove_file(&path).ok();
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "{tool} complained: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn line(description: &str, net: &str) -> DocumentLine {
    DocumentLine {
        description: description.into(),
        quantity: "2".into(),
        unit_price: "€45.50".into(),
        discount_percent: Some("10".into()),
        tax_percent: "20".into(),
        net: net.into(),
    }
}

fn document(lines: Vec<DocumentLine>) -> InvoiceDocument {
    InvoiceDocument {
        title: "Invoice".into(),
        number: "INV-000042".into(),
        status: "issued".into(),
        issue_date: "2026-12-01".into(),
        due_date: "2026-12-31".into(),
        currency: "EUR".into(),
        business: Party {
            name: "Brillant Reinigung GmbH".into(),
            lines: vec![
                "Königstraße 12".into(),
                "10115 Berlin".into(),
                "VAT DE123456789".into(),
            ],
        },
        customer: Party {
            name: "Café Zoë".into(),
            lines: vec!["Rue de l'Église 3".into(), "billing@cafe-zoe.test".into()],
        },
        lines,
        taxes: vec![
            TaxRow {
                rate_percent: "20".into(),
                net: "€1,234.56".into(),
                tax: "€246.91".into(),
            },
            TaxRow {
                rate_percent: "7".into(),
                net: "€100.00".into(),
                tax: "€7.00".into(),
            },
        ],
        net: "€1,334.56".into(),
        tax: "€253.91".into(),
        total: "€1,588.47".into(),
        paid: "€500.00".into(),
        balance: "€1,088.47".into(),
        payment_instructions: Some(
            "Bank transfer to IBAN DE89 3704 0044 0532 0130 00\nReference: INV-000042".into(),
        ),
        public_link: Some("https://holdfast.example.test/p/invoices/inv_7Hq2xY".into()),
        notes: Some("Thank you — payment within 30 days, please.".into()),
        footer: Some("Brillant Reinigung GmbH · Amtsgericht Berlin HRB 12345".into()),
    }
}

/// The table's description column: the start of each line up to the first wide gap, joined,
/// so a wrapped description reads as one phrase again.
fn description_column(text: &str) -> String {
    let cells: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(' ') && !l.starts_with("  "))
        .map(|l| l.trim_start().split("   ").next().unwrap_or("").trim())
        .collect();
    squeeze(&cells.join(" "))
}

/// The text with runs of spaces collapsed, so a phrase matches however the layout spaced it.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn pdftotext_reads_every_part_of_an_invoice() {
    if !poppler_available() {
        return;
    }
    let doc = document(vec![
        line("Window cleaning, ground floor", "€81.90"),
        line(LONG_DESCRIPTION, "€1,152.66"),
        line(
            "Entretien façade — crème brûlée stand, 5 € surcharge, £ and ü too",
            "€100.00",
        ),
    ]);
    let pdf = render(&doc);
    let text = run("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf);
    let flat = squeeze(&text);

    for expected in [
        "Invoice",
        "INV-000042",
        "issued",
        "2026-12-01",
        "2026-12-31",
        "Brillant Reinigung GmbH",
        "Königstraße 12",
        "Bill to",
        "Café Zoë",
        "Rue de l'Église 3",
        "Window cleaning, ground floor",
        "Entretien façade — crème brûlée stand, 5 €",
        "surcharge, £ and ü too",
        "€45.50",
        "10%",
        "20%",
        "€1,152.66",
        "€1,234.56",
        "€246.91",
        "7%",
        "€7.00",
        "€1,334.56",
        "€253.91",
        "€1,588.47",
        "€500.00",
        "€1,088.47",
        "Balance due (EUR)",
        "Bank transfer to IBAN DE89 3704 0044 0532 0130 00",
        "Reference: INV-000042",
        "https://holdfast.example.test/p/invoices/inv_7Hq2xY",
        "Thank you — payment within 30 days, please.",
        "Brillant Reinigung GmbH · Amtsgericht Berlin HRB 12345",
        "Page 1 of 1",
    ] {
        assert!(flat.contains(expected), "{expected:?} not in:\n{text}");
    }
    // The long description is wrapped over several lines of its column, every word kept.
    assert!(
        description_column(&text).contains(&squeeze(LONG_DESCRIPTION)),
        "{text}"
    );
    let first_line = text.lines().find(|l| l.contains("Quarterly")).unwrap();
    assert!(
        !first_line.contains("removal"),
        "the long description was not wrapped: {first_line}"
    );

    // The link is also a clickable URI annotation.
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("/Subtype /Link"));
    assert!(raw.contains("/URI (https://holdfast.example.test/p/invoices/inv_7Hq2xY)"));
}

#[test]
fn pdfinfo_reports_the_pages_and_title_of_a_long_invoice() {
    if !poppler_available() {
        return;
    }
    let lines = (1..=60)
        .map(|i| {
            line(
                &format!("Service visit number {i:02}, kitchen and bathrooms"),
                "€81.90",
            )
        })
        .collect();
    let pdf = render(&document(lines));
    let info = run("pdfinfo", &[], &pdf);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in:\n{info}"));
    assert!(pages >= 2, "60 lines on {pages} page(s)");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Title:") && l.ends_with("Invoice INV-000042")),
        "{info}"
    );
    assert!(
        info.lines()
            .any(|l| l.starts_with("Producer:") && l.ends_with("Holdfast")),
        "{info}"
    );
    assert!(info.contains("595.28 x 841.89 pts (A4)"), "{info}");

    let text = run("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf);
    let flat = squeeze(&text);
    for page in 1..=pages {
        assert!(
            flat.contains(&format!("Page {page} of {pages}")),
            "page {page}:\n{text}"
        );
    }
    for i in 1..=60 {
        let description = format!("Service visit number {i:02}, kitchen and bathrooms");
        assert!(flat.contains(&description), "{description:?} missing");
    }
    // The table's header is repeated on the pages the table continues on; the totals follow it.
    let pages_text: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages_text.len(), pages);
    assert!(pages_text[1].contains("Unit price"), "{}", pages_text[1]);
    let last_line = flat.find("Service visit number 60").unwrap();
    assert!(
        flat[last_line..].contains("Balance due (EUR) €1,088.47"),
        "{text}"
    );
}

#[test]
fn a_hostile_description_is_drawn_as_text() {
    if !poppler_available() {
        return;
    }
    let hostile = r"Evil ) Tj ET ( BT /F2 72 Tf (boom) Tj \ back\\slash \) end";
    let mut doc = document(vec![
        line(hostile, "€1.00"),
        line("After the hostile line", "€2.00"),
    ]);
    doc.number = "INV-(1)\\".into();
    doc.notes = Some("Notes with ) and ( and \\ and a \r carriage return".into());
    let pdf = render(&doc);
    let text = run("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf);
    let flat = squeeze(&text);
    assert!(
        description_column(&text).contains(&squeeze(hostile)),
        "{text}"
    );
    assert!(flat.contains("After the hostile line"));
    assert!(flat.contains("INV-(1)\\"));
    assert!(
        flat.contains("Notes with ) and ( and \\ and a carriage return"),
        "{text}"
    );
    assert!(!flat.contains("boom Tj") || flat.contains("(boom) Tj"));
    let info = run("pdfinfo", &[], &pdf);
    assert!(
        info.contains("Title:") && info.contains("Invoice INV-(1)\\"),
        "{info}"
    );
}

#[test]
fn characters_outside_winansi_become_question_marks() {
    if !poppler_available() {
        return;
    }
    let pdf = render(&document(vec![line("Sushi 寿司 for ł", "€3.00")]));
    let text = run("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf);
    assert!(squeeze(&text).contains("Sushi ?? for ?"), "{text}");
}
