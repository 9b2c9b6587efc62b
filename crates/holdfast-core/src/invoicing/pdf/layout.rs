//! Drawing on A4 pages from top to bottom: text wrapped to a width with the fonts' real
//! widths, rows of cells that break across pages, rules and fills, and the link areas of
//! each page. What is drawn where is decided in `pdf.rs`.

use super::afm::{Font, encode, width};
use super::writer::literal;
use super::{LEADING, SIZE, TABLE_HEADER_HEIGHT, TOP};

/// `text` broken into lines no wider than `max` points: at each `\n`, then between words,
/// and inside a word (a long link, a long number) only when the word alone is too wide.
pub(super) fn wrap(text: &str, font: Font, size: f64, max: f64) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut current = String::new();
        for word in paragraph.split([' ', '\t', '\r']).filter(|w| !w.is_empty()) {
            let candidate = if current.is_empty() {
                word.to_owned()
            } else {
                format!("{current} {word}")
            };
            if width(&candidate, font, size) <= max {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            current = word.to_owned();
            while width(&current, font, size) > max && current.chars().nth(1).is_some() {
                let (head, tail) = split_to_fit(&current, font, size, max);
                lines.push(head);
                current = tail;
            }
        }
        lines.push(current);
    }
    lines
}

/// The longest head of `word` that fits in `max` (at least one character), and the rest.
fn split_to_fit(word: &str, font: Font, size: f64, max: f64) -> (String, String) {
    let mut head = String::new();
    let mut chars = word.chars().peekable();
    while let Some(&c) = chars.peek() {
        head.push(c);
        if width(&head, font, size) > max && head.chars().count() > 1 {
            head.pop();
            break;
        }
        chars.next();
    }
    (head, chars.collect())
}

/// A clickable area of a page.
pub(super) struct Link {
    pub(super) rect: [f64; 4],
    pub(super) uri: String,
}

/// One page being drawn: its content stream and its links.
#[derive(Default)]
pub(super) struct Page {
    pub(super) ops: Vec<u8>,
    pub(super) links: Vec<Link>,
}

/// A piece of text in a row: where, how wide, aligned how, in which font.
pub(super) struct Cell<'a> {
    x: f64,
    width: f64,
    right: bool,
    font: Font,
    text: &'a str,
}

impl<'a> Cell<'a> {
    pub(super) fn left(x: f64, width: f64, font: Font, text: &'a str) -> Self {
        Cell {
            x,
            width,
            right: false,
            font,
            text,
        }
    }

    pub(super) fn right(x: f64, width: f64, font: Font, text: &'a str) -> Self {
        Cell {
            x,
            width,
            right: true,
            font,
            text,
        }
    }
}

/// Pages drawn top to bottom; `y` is the top of the free space on the current page.
pub(super) struct Canvas {
    done: Vec<Page>,
    pub(super) current: Page,
    pub(super) y: f64,
    /// The lowest the content may reach (above the footer).
    pub(super) bottom: f64,
}

impl Canvas {
    pub(super) fn new(bottom: f64) -> Self {
        Canvas {
            done: Vec::new(),
            current: Page::default(),
            y: TOP,
            bottom,
        }
    }

    pub(super) fn page_number(&self) -> usize {
        self.done.len() + 1
    }

    pub(super) fn new_page(&mut self) {
        self.done.push(std::mem::take(&mut self.current));
        self.y = TOP;
    }

    /// Starts a new page unless `height` fits under the cursor (or the page is still empty).
    pub(super) fn ensure(&mut self, height: f64) {
        if self.y - height < self.bottom && self.y < TOP {
            self.new_page();
        }
    }

    pub(super) fn gap(&mut self, height: f64) {
        self.y -= height;
        if self.y < self.bottom {
            self.new_page();
        }
    }

    pub(super) fn finish(mut self) -> Vec<Page> {
        self.done.push(self.current);
        self.done
    }

    pub(super) fn raw(&mut self, ops: &str) {
        self.current.ops.extend_from_slice(ops.as_bytes());
    }

    pub(super) fn text(&mut self, x: f64, baseline: f64, font: Font, size: f64, text: &str) {
        let ops = &mut self.current.ops;
        ops.extend_from_slice(
            format!(
                "BT /{} {size:.1} Tf 1 0 0 1 {x:.2} {baseline:.2} Tm ",
                font.resource()
            )
            .as_bytes(),
        );
        ops.extend_from_slice(&literal(&encode(text)));
        ops.extend_from_slice(b" Tj ET\n");
    }

    pub(super) fn text_right(
        &mut self,
        right: f64,
        baseline: f64,
        font: Font,
        size: f64,
        text: &str,
    ) {
        let x = right - width(text, font, size);
        self.text(x, baseline, font, size, text);
    }

    /// A horizontal line at `y`, in grey `gray` (0 black, 1 white).
    pub(super) fn rule(&mut self, x1: f64, x2: f64, y: f64, gray: f64) {
        self.raw(&format!(
            "0.5 w {gray:.2} G {x1:.2} {y:.2} m {x2:.2} {y:.2} l S 0 G\n"
        ));
    }

    pub(super) fn fill_rect(&mut self, x: f64, y: f64, w: f64, h: f64, gray: f64) {
        self.raw(&format!(
            "{gray:.2} g {x:.2} {y:.2} {w:.2} {h:.2} re f 0 g\n"
        ));
    }

    /// `text` wrapped to `width` at `x`, a page break wherever a line does not fit.
    pub(super) fn paragraph(
        &mut self,
        x: f64,
        width: f64,
        font: Font,
        size: f64,
        leading: f64,
        text: &str,
    ) {
        for line in wrap(text, font, size, width) {
            self.ensure(leading);
            let baseline = self.y - size;
            self.text(x, baseline, font, size, &line);
            self.y -= leading;
        }
    }

    /// Cells side by side, each wrapped to its width, `pad` above and below. The row stays on
    /// one page when it fits on one; a taller row continues on the next pages. After each page
    /// break `on_new_page` draws what the new page needs first (the table's header).
    pub(super) fn row(&mut self, cells: &[Cell<'_>], pad: f64, on_new_page: &dyn Fn(&mut Canvas)) {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .map(|cell| wrap(cell.text, cell.font, SIZE, cell.width))
            .collect();
        let count = wrapped.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let height = count as f64 * LEADING + 2.0 * pad;
        let fresh_page = TOP - self.bottom - TABLE_HEADER_HEIGHT;
        if height <= fresh_page && self.y - height < self.bottom {
            self.new_page();
            on_new_page(self);
        }
        let mut first = 0;
        let mut fresh = false;
        while first < count {
            let room = ((self.y - self.bottom - 2.0 * pad) / LEADING).floor();
            // On a fresh page at least one line is drawn, so the loop always ends.
            let fit = if room >= 1.0 {
                room as usize
            } else {
                usize::from(fresh)
            };
            if fit == 0 {
                self.new_page();
                on_new_page(self);
                fresh = true;
                continue;
            }
            fresh = false;
            let last = (first + fit).min(count);
            self.y -= pad;
            for index in first..last {
                let baseline = self.y - SIZE;
                for (cell, lines) in cells.iter().zip(&wrapped) {
                    if let Some(line) = lines.get(index) {
                        if cell.right {
                            self.text_right(cell.x + cell.width, baseline, cell.font, SIZE, line);
                        } else {
                            self.text(cell.x, baseline, cell.font, SIZE, line);
                        }
                    }
                }
                self.y -= LEADING;
            }
            self.y -= pad;
            first = last;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_between_words_and_inside_words_too_wide_for_a_line() {
        let lines = wrap(
            "aaa bbb ccc",
            Font::Regular,
            10.0,
            width("aaa bbb", Font::Regular, 10.0),
        );
        assert_eq!(lines, vec!["aaa bbb", "ccc"]);
        assert_eq!(
            wrap("one\ntwo\n\nthree", Font::Regular, 10.0, 500.0),
            vec!["one", "two", "", "three"]
        );
        let long = "x".repeat(100);
        let max = width("xxxxxxxxxx", Font::Regular, 10.0);
        let lines = wrap(&long, Font::Regular, 10.0, max);
        assert_eq!(lines.len(), 10);
        assert!(lines.iter().all(|l| l == "xxxxxxxxxx"));
        // Every line fits, measured with the real glyph widths (bold is wider).
        let text = "Quarterly deep clean of the premises including all windows and façades";
        for font in [Font::Regular, Font::Bold] {
            let lines = wrap(text, font, 9.0, 120.0);
            assert!(lines.len() > 1);
            assert!(lines.iter().all(|l| width(l, font, 9.0) <= 120.0));
            assert_eq!(lines.join(" "), text);
        }
        // A column narrower than one character still gets one character a line.
        assert_eq!(wrap("WW", Font::Bold, 10.0, 1.0), vec!["W", "W"]);
        assert_eq!(wrap("", Font::Regular, 10.0, 100.0), vec![""]);
    }
}
