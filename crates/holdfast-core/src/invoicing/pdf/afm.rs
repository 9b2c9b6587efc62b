//! The two fonts an invoice uses, Helvetica and Helvetica-Bold (standard Type 1 fonts every
//! PDF reader has, so nothing is embedded), in WinAnsiEncoding: how a character becomes a
//! byte, and how wide that byte is. Widths are the Adobe font metrics (AFM) advance widths,
//! in thousandths of the font size, so wrapping measures what the reader will draw.

/// A font of the document; its resource name in the page is `/F1` or `/F2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

impl Font {
    pub fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    pub fn base_font(self) -> &'static str {
        match self {
            Font::Regular => "Helvetica",
            Font::Bold => "Helvetica-Bold",
        }
    }

    fn widths(self) -> &'static [u16; 224] {
        match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        }
    }
}

/// The WinAnsiEncoding byte for `c`; `?` for a character the encoding cannot show (the
/// fonts carry no other glyphs). A tab is a space; other control characters are `?`.
pub fn encode_char(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\t' => b' ',
        '\u{a0}'..='\u{ff}' => c as u8,
        // WinAnsi's 0x80..=0x9F, where it differs from Latin-1.
        '\u{20ac}' => 0x80, // Euro
        '\u{201a}' => 0x82, // quotesinglbase
        '\u{0192}' => 0x83, // florin
        '\u{201e}' => 0x84, // quotedblbase
        '\u{2026}' => 0x85, // ellipsis
        '\u{2020}' => 0x86, // dagger
        '\u{2021}' => 0x87, // daggerdbl
        '\u{02c6}' => 0x88, // circumflex
        '\u{2030}' => 0x89, // perthousand
        '\u{0160}' => 0x8a, // Scaron
        '\u{2039}' => 0x8b, // guilsinglleft
        '\u{0152}' => 0x8c, // OE
        '\u{017d}' => 0x8e, // Zcaron
        '\u{2018}' => 0x91, // quoteleft
        '\u{2019}' => 0x92, // quoteright
        '\u{201c}' => 0x93, // quotedblleft
        '\u{201d}' => 0x94, // quotedblright
        '\u{2022}' => 0x95, // bullet
        '\u{2013}' => 0x96, // endash
        '\u{2014}' => 0x97, // emdash
        '\u{02dc}' => 0x98, // tilde
        '\u{2122}' => 0x99, // trademark
        '\u{0161}' => 0x9a, // scaron
        '\u{203a}' => 0x9b, // guilsinglright
        '\u{0153}' => 0x9c, // oe
        '\u{017e}' => 0x9e, // zcaron
        '\u{0178}' => 0x9f, // Ydieresis
        _ => b'?',
    }
}

/// `text` in WinAnsiEncoding, one byte a character.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(encode_char).collect()
}

/// Advance width of `text` in points at `size`.
pub fn width(text: &str, font: Font, size: f64) -> f64 {
    let widths = font.widths();
    let units: u32 = text
        .chars()
        .map(|c| {
            let byte = encode_char(c);
            widths
                .get(usize::from(byte).wrapping_sub(32))
                .map_or(0, |w| u32::from(*w))
        })
        .sum();
    f64::from(units) * size / 1000.0
}

/// Helvetica advance widths (1/1000 em) for WinAnsi codes 32..=255; 0 where WinAnsi has no glyph.
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0x30
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 0x50
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // 0x60
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0, // 0x70
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 0x80
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, // 0x90
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xa0
    400, 584, 333, 333, 333, 578, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xb0
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xc0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xd0
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, // 0xe0
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, // 0xf0
];
/// Helvetica-Bold advance widths (1/1000 em) for WinAnsi codes 32..=255; 0 where WinAnsi has no glyph.
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0x30
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // 0x50
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // 0x60
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0, // 0x70
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 0x80
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667, // 0x90
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xa0
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xb0
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xc0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xd0
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, // 0xe0
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556, // 0xf0
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_map_to_winansi_and_the_rest_to_a_question_mark() {
        assert_eq!(encode("Aé€£ü"), vec![b'A', 0xe9, 0x80, 0xa3, 0xfc]);
        assert_eq!(
            encode("‘’“”–—…•™"),
            vec![0x91, 0x92, 0x93, 0x94, 0x96, 0x97, 0x85, 0x95, 0x99]
        );
        assert_eq!(encode("日本\u{1F600}ł"), b"????".to_vec());
        assert_eq!(encode("a\tb\u{7}\u{7f}\u{85}"), b"a b???".to_vec());
    }

    #[test]
    fn widths_are_the_afm_advance_widths() {
        // Helvetica: H 722, e 556, l 222, o 556; Helvetica-Bold: H 722, e 556, l 278, o 611.
        assert!((width("Hello", Font::Regular, 1000.0) - 2278.0).abs() < 1e-9);
        assert!((width("Hello", Font::Bold, 1000.0) - 2445.0).abs() < 1e-9);
        assert!((width("€é", Font::Regular, 10.0) - 11.12).abs() < 1e-9);
        // Every character the encoding can show has a width in both fonts.
        for byte in (32u8..=126).chain(0xa0..=0xff) {
            let c = char::from(byte);
            assert!(width(&c.to_string(), Font::Regular, 1.0) > 0.0, "{byte:#x}");
            assert!(width(&c.to_string(), Font::Bold, 1.0) > 0.0, "{byte:#x}");
        }
        // A character outside WinAnsi measures as the '?' drawn in its place.
        assert_eq!(
            width("日", Font::Regular, 1.0),
            width("?", Font::Regular, 1.0)
        );
    }
}
