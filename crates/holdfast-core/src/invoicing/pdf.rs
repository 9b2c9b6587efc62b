//! An invoice or credit note as a PDF file, written here by hand (PDF 1.4, no dependency):
//! A4 pages, Helvetica and Helvetica-Bold in WinAnsiEncoding, a header with the business and
//! the customer ("Bill to"), a table of lines that wraps long descriptions and breaks across
//! pages (repeating its header), the taxes per rate, the totals with the balance due, payment
//! instructions, the customer's public link (as text and as a clickable link), notes and a
//! footer with "Page n of m".
//!
//! Everything comes in as display text already formatted by the caller (money, dates, rates),
//! so the renderer does no arithmetic on amounts. No IO and no clock: the same document gives
//! the same bytes. Text the fonts cannot show (outside WinAnsi) is drawn as `?`; every string
//! is escaped, so no input can change the document's structure.

mod afm;
mod layout;
mod writer;

use afm::{Font, width};
use layout::{Canvas, Cell, Link, Page, wrap};
use writer::{Writer, literal, text_string, uri_bytes};

/// A business or a customer: a name, then address, tax id or email lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub lines: Vec<String>,
}

/// One line of the table. Percentages are numbers (`"20"` or `"20%"`; a missing `%` is added).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentLine {
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_percent: Option<String>,
    pub tax_percent: String,
    pub net: String,
}

/// The net amount and the tax at one tax rate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaxRow {
    pub rate_percent: String,
    pub net: String,
    pub tax: String,
}

/// What the PDF shows, all of it display text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InvoiceDocument {
    /// "Invoice" or "Credit note".
    pub title: String,
    /// "INV-000042", or "Draft" for a draft.
    pub number: String,
    pub status: String,
    pub issue_date: String,
    pub due_date: String,
    pub currency: String,
    pub business: Party,
    pub customer: Party,
    pub lines: Vec<DocumentLine>,
    pub taxes: Vec<TaxRow>,
    pub net: String,
    pub tax: String,
    pub total: String,
    pub paid: String,
    pub balance: String,
    /// May hold several lines separated by `\n`.
    pub payment_instructions: Option<String>,
    /// The customer's link to view and pay online.
    pub public_link: Option<String>,
    pub notes: Option<String>,
    pub footer: Option<String>,
}

/// A4 in points.
const PAGE_WIDTH: f64 = 595.28;
const PAGE_HEIGHT: f64 = 841.89;
const MARGIN: f64 = 50.0;
const TOP: f64 = PAGE_HEIGHT - MARGIN;
const RIGHT: f64 = PAGE_WIDTH - MARGIN;
const CONTENT_WIDTH: f64 = RIGHT - MARGIN;
/// Body text.
const SIZE: f64 = 9.0;
const LEADING: f64 = 11.5;
/// Footer text and the page number.
const FOOTER_SIZE: f64 = 7.5;
const FOOTER_LEADING: f64 = 9.5;
/// A footer longer than this many lines is printed once, at the end, instead of on every page.
const FOOTER_MAX_LINES: usize = 4;
/// The table's header row.
const TABLE_HEADER_HEIGHT: f64 = 16.0;
/// Padding above and below the text of a table row.
const ROW_PAD: f64 = 3.0;
const LINK_COLOR: &str = "0.05 0.3 0.65";

/// The table's columns: title, width, right-aligned.
const COLUMNS: [(&str, f64, bool); 6] = [
    ("Description", 205.28, false),
    ("Qty", 45.0, true),
    ("Unit price", 75.0, true),
    ("Discount", 50.0, true),
    ("Tax", 45.0, true),
    ("Amount", 75.0, true),
];
/// Space between a column's edge and its text.
const CELL_PAD: f64 = 4.0;

/// Renders `doc` as a PDF file.
pub fn render(doc: &InvoiceDocument) -> Vec<u8> {
    let footer_lines = doc
        .footer
        .as_deref()
        .map(|f| wrap(f, Font::Regular, FOOTER_SIZE, CONTENT_WIDTH))
        .unwrap_or_default();
    let footer_on_every_page = footer_lines.len() <= FOOTER_MAX_LINES;
    let reserved = if footer_on_every_page {
        footer_lines.len() as f64 * FOOTER_LEADING
    } else {
        0.0
    };
    let mut c = Canvas::new(MARGIN + 12.0 + reserved);

    header(&mut c, doc);
    table(&mut c, doc);
    summary(&mut c, doc);
    if let Some(text) = &doc.payment_instructions {
        section(&mut c, "Payment instructions", text);
    }
    if let Some(link) = &doc.public_link {
        public_link(&mut c, link);
    }
    if let Some(text) = &doc.notes {
        section(&mut c, "Notes", text);
    }
    if !footer_on_every_page {
        c.gap(10.0);
        for line in &footer_lines {
            c.ensure(FOOTER_LEADING);
            let y = c.y - FOOTER_SIZE;
            c.text(MARGIN, y, Font::Regular, FOOTER_SIZE, line);
            c.y -= FOOTER_LEADING;
        }
    }

    let pages = c.finish();
    let count = pages.len();
    let reference = format!("{} {}", doc.title, doc.number);
    let footer_lines = if footer_on_every_page {
        footer_lines
    } else {
        Vec::new()
    };
    let pages: Vec<Page> = pages
        .into_iter()
        .enumerate()
        .map(|(index, page)| page_footer(page, index + 1, count, &reference, &footer_lines))
        .collect();
    write_file(doc, pages)
}

/// The business on the left, the title and the document's facts on the right, then "Bill to".
fn header(c: &mut Canvas, doc: &InvoiceDocument) {
    const LEFT_WIDTH: f64 = 270.0;
    const LABEL_X: f64 = RIGHT - 210.0;
    let start_page = c.page_number();

    // Right column: the title, then label and value rows.
    let title_size = 20.0;
    for line in wrap(&doc.title, Font::Bold, title_size, 210.0) {
        c.ensure(title_size + 4.0);
        let y = c.y - title_size;
        c.text_right(RIGHT, y, Font::Bold, title_size, &line);
        c.y -= title_size + 4.0;
    }
    c.gap(6.0);
    for (label, value, bold) in [
        ("Number", &doc.number, true),
        ("Status", &doc.status, false),
        ("Issue date", &doc.issue_date, false),
        ("Due date", &doc.due_date, false),
        ("Currency", &doc.currency, false),
    ] {
        let value_font = if bold { Font::Bold } else { Font::Regular };
        c.row(
            &[
                Cell::left(LABEL_X, 70.0, Font::Regular, label),
                Cell::right(LABEL_X + 70.0, 140.0, value_font, value),
            ],
            0.0,
            &|_| {},
        );
    }
    let right_end = c.y;

    // Left column, from the top of the same page when the right column fitted on it.
    if c.page_number() == start_page {
        c.y = TOP;
    }
    c.paragraph(
        MARGIN,
        LEFT_WIDTH,
        Font::Bold,
        14.0,
        17.0,
        &doc.business.name,
    );
    for line in &doc.business.lines {
        c.paragraph(MARGIN, LEFT_WIDTH, Font::Regular, SIZE, LEADING, line);
    }
    c.gap(18.0);
    c.ensure(LEADING + 14.0);
    c.paragraph(MARGIN, LEFT_WIDTH, Font::Bold, 8.0, LEADING, "Bill to");
    c.paragraph(
        MARGIN,
        LEFT_WIDTH,
        Font::Bold,
        11.0,
        14.0,
        &doc.customer.name,
    );
    for line in &doc.customer.lines {
        c.paragraph(MARGIN, LEFT_WIDTH, Font::Regular, SIZE, LEADING, line);
    }
    if c.page_number() == start_page {
        c.y = c.y.min(right_end);
    }
    c.gap(22.0);
}

/// The column header of the table, at the cursor.
fn table_header(c: &mut Canvas) {
    let top = c.y;
    c.fill_rect(
        MARGIN,
        top - TABLE_HEADER_HEIGHT,
        CONTENT_WIDTH,
        TABLE_HEADER_HEIGHT,
        0.92,
    );
    let baseline = top - TABLE_HEADER_HEIGHT + 5.0;
    let mut x = MARGIN;
    for (title, column_width, right) in COLUMNS {
        if right {
            c.text_right(
                x + column_width - CELL_PAD,
                baseline,
                Font::Bold,
                8.0,
                title,
            );
        } else {
            c.text(x + CELL_PAD, baseline, Font::Bold, 8.0, title);
        }
        x += column_width;
    }
    c.y -= TABLE_HEADER_HEIGHT;
}

fn table(c: &mut Canvas, doc: &InvoiceDocument) {
    c.ensure(TABLE_HEADER_HEIGHT + LEADING + 2.0 * ROW_PAD);
    table_header(c);
    for line in &doc.lines {
        let discount = line
            .discount_percent
            .as_deref()
            .map(percent)
            .unwrap_or_default();
        let tax = percent(&line.tax_percent);
        let texts = [
            line.description.as_str(),
            line.quantity.as_str(),
            line.unit_price.as_str(),
            discount.as_str(),
            tax.as_str(),
            line.net.as_str(),
        ];
        let mut x = MARGIN;
        let mut cells = Vec::with_capacity(COLUMNS.len());
        for ((_, column_width, right), text) in COLUMNS.iter().zip(texts) {
            let inner = column_width - 2.0 * CELL_PAD;
            cells.push(if *right {
                Cell::right(x + CELL_PAD, inner, Font::Regular, text)
            } else {
                Cell::left(x + CELL_PAD, inner, Font::Regular, text)
            });
            x += column_width;
        }
        c.row(&cells, ROW_PAD, &table_header);
        c.rule(MARGIN, RIGHT, c.y, 0.8);
    }
}

/// "20" → "20%"; a rate that already says `%` is kept; an empty one stays empty.
fn percent(rate: &str) -> String {
    let rate = rate.trim();
    if rate.is_empty() || rate.ends_with('%') {
        rate.to_owned()
    } else {
        format!("{rate}%")
    }
}

/// The taxes per rate, then the totals, on the right.
fn summary(c: &mut Canvas, doc: &InvoiceDocument) {
    const X: f64 = RIGHT - 260.0;
    c.gap(14.0);
    if !doc.taxes.is_empty() {
        let header = |c: &mut Canvas| {
            c.row(
                &[
                    Cell::left(X, 80.0, Font::Bold, "Tax rate"),
                    Cell::right(X + 80.0, 90.0, Font::Bold, "Net"),
                    Cell::right(X + 170.0, 90.0, Font::Bold, "Tax"),
                ],
                ROW_PAD,
                &|_| {},
            );
            c.rule(X, RIGHT, c.y, 0.7);
        };
        c.ensure(3.0 * (LEADING + 2.0 * ROW_PAD));
        header(c);
        for row in &doc.taxes {
            let rate = percent(&row.rate_percent);
            c.row(
                &[
                    Cell::left(X, 80.0, Font::Regular, &rate),
                    Cell::right(X + 80.0, 90.0, Font::Regular, &row.net),
                    Cell::right(X + 170.0, 90.0, Font::Regular, &row.tax),
                ],
                ROW_PAD,
                &header,
            );
        }
        c.gap(12.0);
    }
    let with_currency = |label: &str| {
        if doc.currency.trim().is_empty() {
            label.to_owned()
        } else {
            format!("{label} ({})", doc.currency.trim())
        }
    };
    let total_label = with_currency("Total");
    let balance_label = with_currency("Balance due");
    let rows = [
        ("Net", &doc.net, false),
        ("Tax", &doc.tax, false),
        (total_label.as_str(), &doc.total, true),
        ("Paid", &doc.paid, false),
        (balance_label.as_str(), &doc.balance, true),
    ];
    // The totals stay together when they fit on a page.
    c.ensure(rows.len() as f64 * (LEADING + 2.0 * ROW_PAD) + 4.0);
    for (label, value, bold) in rows {
        let font = if bold { Font::Bold } else { Font::Regular };
        if label == balance_label {
            c.rule(X, RIGHT, c.y, 0.4);
        }
        c.row(
            &[
                Cell::left(X, 130.0, font, label),
                Cell::right(X + 130.0, 130.0, font, value),
            ],
            ROW_PAD,
            &|_| {},
        );
    }
}

/// A heading and its text, the full width of the page.
fn section(c: &mut Canvas, heading: &str, text: &str) {
    c.gap(16.0);
    // A short section stays with its heading on one page.
    let lines = wrap(text, Font::Regular, SIZE, CONTENT_WIDTH).len().min(6);
    c.ensure(14.0 + lines as f64 * LEADING);
    c.paragraph(MARGIN, CONTENT_WIDTH, Font::Bold, 10.0, 14.0, heading);
    c.paragraph(MARGIN, CONTENT_WIDTH, Font::Regular, SIZE, LEADING, text);
}

/// The link as text, and as a link annotation over each of its lines when it is a web
/// address (a reader is never handed another scheme to open).
fn public_link(c: &mut Canvas, link: &str) {
    let link = link.trim();
    let lower = link.to_ascii_lowercase();
    let clickable = lower.starts_with("https://") || lower.starts_with("http://");
    c.gap(16.0);
    c.ensure(14.0 + LEADING);
    c.paragraph(
        MARGIN,
        CONTENT_WIDTH,
        Font::Bold,
        10.0,
        14.0,
        "View and pay online",
    );
    for line in wrap(link, Font::Regular, SIZE, CONTENT_WIDTH) {
        c.ensure(LEADING);
        let baseline = c.y - SIZE;
        if clickable {
            c.raw(&format!("{LINK_COLOR} rg\n"));
            c.text(MARGIN, baseline, Font::Regular, SIZE, &line);
            c.raw("0 g\n");
            let right = MARGIN + width(&line, Font::Regular, SIZE);
            c.current.links.push(Link {
                rect: [MARGIN, baseline - 2.5, right, baseline + SIZE],
                uri: link.to_owned(),
            });
        } else {
            c.text(MARGIN, baseline, Font::Regular, SIZE, &line);
        }
        c.y -= LEADING;
    }
}

/// The footer text, the document's reference and "Page n of m" at the foot of a page.
fn page_footer(
    mut page: Page,
    number: usize,
    count: usize,
    reference: &str,
    footer: &[String],
) -> Page {
    let mut c = Canvas::new(0.0);
    let baseline = MARGIN - 10.0;
    c.rule(
        MARGIN,
        RIGHT,
        baseline + FOOTER_SIZE + 3.0 + footer.len() as f64 * FOOTER_LEADING,
        0.8,
    );
    for (index, line) in footer.iter().enumerate() {
        let y = baseline + (footer.len() - index) as f64 * FOOTER_LEADING;
        let x = MARGIN + (CONTENT_WIDTH - width(line, Font::Regular, FOOTER_SIZE)) / 2.0;
        c.text(x, y, Font::Regular, FOOTER_SIZE, line);
    }
    c.text(MARGIN, baseline, Font::Regular, FOOTER_SIZE, reference);
    let label = format!("Page {number} of {count}");
    c.text_right(RIGHT, baseline, Font::Regular, FOOTER_SIZE, &label);
    page.ops.extend_from_slice(&c.current.ops);
    page
}

/// Catalog, page tree, fonts, information dictionary, then each page with its content and
/// link annotations.
fn write_file(doc: &InvoiceDocument, pages: Vec<Page>) -> Vec<u8> {
    let mut w = Writer::default();
    let catalog = w.reserve();
    let tree = w.reserve();
    let regular = w.add(font_object(Font::Regular));
    let bold = w.add(font_object(Font::Bold));
    let mut info = b"<< /Title ".to_vec();
    info.extend_from_slice(text_string(&format!("{} {}", doc.title, doc.number)).as_bytes());
    info.extend_from_slice(b" /Producer (Holdfast) /Creator (Holdfast) >>");
    let info = w.add(info);

    let mut kids = Vec::with_capacity(pages.len());
    for page in pages {
        let contents = w.add_stream(&page.ops);
        let mut annots = Vec::with_capacity(page.links.len());
        for link in &page.links {
            let [x1, y1, x2, y2] = link.rect;
            let mut body = format!(
                "<< /Type /Annot /Subtype /Link /Rect [{x1:.2} {y1:.2} {x2:.2} {y2:.2}] \
                 /Border [0 0 0] /A << /Type /Action /S /URI /URI "
            )
            .into_bytes();
            body.extend_from_slice(&literal(&uri_bytes(&link.uri)));
            body.extend_from_slice(b" >> >>");
            annots.push(format!("{} 0 R", w.add(body)));
        }
        let annots = if annots.is_empty() {
            String::new()
        } else {
            format!(" /Annots [{}]", annots.join(" "))
        };
        let page = format!(
            "<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
             /Resources << /Font << /F1 {regular} 0 R /F2 {bold} 0 R >> >> \
             /Contents {contents} 0 R{annots} >>"
        );
        kids.push(format!("{} 0 R", w.add(page.into_bytes())));
    }
    w.set(
        tree,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            kids.len()
        )
        .into_bytes(),
    );
    w.set(
        catalog,
        format!("<< /Type /Catalog /Pages {tree} 0 R >>").into_bytes(),
    );
    w.finish(catalog, info)
}

fn font_object(font: Font) -> Vec<u8> {
    format!(
        "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding >>",
        font.base_font()
    )
    .into_bytes()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The byte offsets of the in-use objects, read from the file's cross-reference table.
    pub(crate) fn xref_offsets(bytes: &[u8]) -> Vec<usize> {
        let text = String::from_utf8_lossy(bytes);
        let start: usize = text
            .rsplit_once("startxref\n")
            .and_then(|(_, rest)| rest.lines().next())
            .and_then(|n| n.trim().parse().ok())
            .expect("startxref");
        let table = &bytes[start..];
        assert!(
            table.starts_with(b"xref\n0 "),
            "startxref points at the table"
        );
        let body = std::str::from_utf8(table).unwrap();
        let mut lines = body.split('\n');
        lines.next();
        let count: usize = lines.next().unwrap()[2..].parse().unwrap();
        // Entries are 20 bytes each, after "xref\n0 N\n".
        let header = format!("xref\n0 {count}\n").len();
        (1..count)
            .map(|i| {
                let entry = &body[header + i * 20..header + (i + 1) * 20];
                assert_eq!(entry.len(), 20);
                assert!(entry.ends_with(" 00000 n \n"), "{entry:?}");
                entry[..10].parse().unwrap()
            })
            .collect()
    }

    fn sample(lines: usize) -> InvoiceDocument {
        InvoiceDocument {
            title: "Invoice".into(),
            number: "INV-000042".into(),
            status: "issued".into(),
            issue_date: "2026-12-01".into(),
            due_date: "2026-12-15".into(),
            currency: "EUR".into(),
            business: Party {
                name: "Crew & Co".into(),
                lines: vec!["1 Quay Street".into()],
            },
            customer: Party {
                name: "Zoë Müller".into(),
                lines: vec!["zoe@example.test".into()],
            },
            lines: (0..lines)
                .map(|i| DocumentLine {
                    description: format!("Window cleaning, visit {i}"),
                    quantity: "2".into(),
                    unit_price: "€40.00".into(),
                    discount_percent: None,
                    tax_percent: "20".into(),
                    net: "€80.00".into(),
                })
                .collect(),
            taxes: vec![TaxRow {
                rate_percent: "20".into(),
                net: "€80.00".into(),
                tax: "€16.00".into(),
            }],
            net: "€80.00".into(),
            tax: "€16.00".into(),
            total: "€96.00".into(),
            paid: "€0.00".into(),
            balance: "€96.00".into(),
            payment_instructions: Some("IBAN DE00 0000\nReference INV-000042".into()),
            public_link: Some("https://pay.example.test/i/abc(1)".into()),
            notes: Some("Thank you".into()),
            footer: Some("Crew & Co Ltd, registered in Somewhere".into()),
        }
    }

    #[test]
    fn every_xref_offset_points_at_its_object() {
        for lines in [0, 3, 80] {
            let bytes = render(&sample(lines));
            let offsets = xref_offsets(&bytes);
            assert!(offsets.len() >= 6);
            for (index, offset) in offsets.iter().enumerate() {
                let expected = format!("{} 0 obj\n", index + 1);
                assert!(
                    bytes[*offset..].starts_with(expected.as_bytes()),
                    "object {} is not at {offset}",
                    index + 1
                );
            }
            assert!(bytes.ends_with(b"%%EOF\n"));
        }
    }

    #[test]
    fn the_same_document_gives_the_same_bytes() {
        assert_eq!(render(&sample(5)), render(&sample(5)));
    }

    #[test]
    fn many_lines_break_into_pages_numbered_in_the_footer() {
        let one = String::from_utf8_lossy(&render(&sample(3))).into_owned();
        assert!(one.contains("/Count 1 "));
        assert!(one.contains("(Page 1 of 1)"));
        let many = String::from_utf8_lossy(&render(&sample(80))).into_owned();
        let count: usize = many
            .split("/Count ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(count >= 3, "{count} pages");
        assert!(many.contains(&format!("(Page {count} of {count})")));
        // The table's header is drawn again on every page the table reaches.
        assert!(many.matches("(Unit price)").count() >= 2);
    }

    #[test]
    fn hostile_text_stays_inside_its_string() {
        let mut doc = sample(1);
        doc.lines[0].description = ") Tj ET (\\) BT /F2 99 Tf (x\\".into();
        let pdf = String::from_utf8_lossy(&render(&doc)).into_owned();
        assert!(pdf.contains("(\\) Tj ET \\(\\\\\\) BT /F2 99 Tf \\(x\\\\) Tj ET"));
    }

    #[test]
    fn only_web_links_become_link_annotations() {
        let pdf = String::from_utf8_lossy(&render(&sample(1))).into_owned();
        assert!(pdf.contains("/S /URI /URI (https://pay.example.test/i/abc\\(1\\))"));
        let mut doc = sample(1);
        doc.public_link = Some("javascript:alert(1)".into());
        let pdf = String::from_utf8_lossy(&render(&doc)).into_owned();
        assert!(!pdf.contains("/URI"));
        assert!(pdf.contains("(javascript:alert\\(1\\))"));
    }

    /// The number of pages the page tree counts.
    fn page_count(pdf: &str) -> usize {
        pdf.split("/Type /Pages /Kids [")
            .nth(1)
            .and_then(|rest| rest.split("/Count ").nth(1))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap()
    }

    #[test]
    fn a_row_taller_than_a_page_continues_on_the_next_pages() {
        let mut doc = sample(2);
        doc.lines[0].description = (0..400)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        doc.lines[1].quantity = "9".repeat(200);
        let pdf = String::from_utf8_lossy(&render(&doc)).into_owned();
        assert!(page_count(&pdf) >= 2);
        assert!(pdf.contains("(word0)") || pdf.contains("(word0 "));
        assert!(pdf.contains("word399) Tj"));
        assert!(pdf.matches("(Unit price)").count() >= 2);
    }

    #[test]
    fn a_short_footer_is_on_every_page_and_a_long_one_once_at_the_end() {
        let pdf = String::from_utf8_lossy(&render(&sample(80))).into_owned();
        let pages = page_count(&pdf);
        assert_eq!(
            pdf.matches("(Crew & Co Ltd, registered in Somewhere)")
                .count(),
            pages
        );
        let mut doc = sample(80);
        doc.footer = Some(
            (0..8)
                .map(|i| format!("Footer line {i}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let pdf = String::from_utf8_lossy(&render(&doc)).into_owned();
        assert_eq!(pdf.matches("(Footer line 7)").count(), 1);
    }

    #[test]
    fn rates_gain_a_percent_sign_once() {
        assert_eq!(percent("20"), "20%");
        assert_eq!(percent("7.5%"), "7.5%");
        assert_eq!(percent(""), "");
    }
}
