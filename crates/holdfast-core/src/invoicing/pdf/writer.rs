//! The PDF 1.4 file syntax the renderer needs: literal and text strings escaped so no input
//! can end a string or an object early, numbered objects, uncompressed streams, and the
//! cross-reference table with the byte offset of every object.

/// A PDF literal string `( … )` holding `bytes`. Backslash and both parentheses are
/// escaped, and every byte outside printable ASCII is written as an octal escape, so the
/// string cannot close early, line ends inside it are not rewritten by a reader, and the
/// file stays plain ASCII.
pub fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'(');
    for &b in bytes {
        match b {
            b'\\' | b'(' | b')' => {
                out.push(b'\\');
                out.push(b);
            }
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
        }
    }
    out.push(b')');
    out
}

/// A PDF text string (for the document information dictionary): UTF-16BE with its byte order
/// mark, written in hexadecimal, so any title reads back exactly.
pub fn text_string(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        out.push_str(&format!("{unit:04X}"));
    }
    out.push('>');
    out
}

/// A URI for a link action: printable ASCII is kept, anything else (UTF-8 bytes, spaces,
/// control characters) is percent-encoded, as URIs are ASCII.
pub fn uri_bytes(uri: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(uri.len());
    for &b in uri.as_bytes() {
        if (0x21..=0x7e).contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

/// Objects are numbered 1.. in the order they are added; the file is written in that order.
#[derive(Default)]
pub struct Writer {
    objects: Vec<Vec<u8>>,
}

impl Writer {
    /// Adds an object (its body, without `N 0 obj` … `endobj`) and returns its number.
    pub fn add(&mut self, body: Vec<u8>) -> usize {
        self.objects.push(body);
        self.objects.len()
    }

    /// Reserves a number for an object whose body is known later (see [`Writer::set`]).
    pub fn reserve(&mut self) -> usize {
        self.add(Vec::new())
    }

    /// Sets the body of a reserved object.
    pub fn set(&mut self, id: usize, body: Vec<u8>) {
        if let Some(slot) = id.checked_sub(1).and_then(|i| self.objects.get_mut(i)) {
            *slot = body;
        }
    }

    /// Adds a stream object with `data` as its uncompressed content.
    pub fn add_stream(&mut self, data: &[u8]) -> usize {
        let mut body = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.add(body)
    }

    /// The whole file: header, objects, cross-reference table and trailer.
    pub fn finish(self, root: usize, info: usize) -> Vec<u8> {
        // The comment of high bytes marks the file as binary for transfer tools.
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (index, body) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let size = self.objects.len() + 1;
        out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
        for offset in offsets {
            // Each entry is exactly 20 bytes, ending in space and newline.
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {size} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_strings_escape_delimiters_backslashes_and_control_bytes() {
        assert_eq!(literal(b"plain text"), b"(plain text)".to_vec());
        assert_eq!(literal(b"a(b)c\\d"), b"(a\\(b\\)c\\\\d)".to_vec());
        assert_eq!(literal(b") Tj ET ("), b"(\\) Tj ET \\()".to_vec());
        assert_eq!(literal(b"\r\n\t\x00"), b"(\\015\\012\\011\\000)".to_vec());
        assert_eq!(literal(&[0x80, 0xe9, 0x7f]), b"(\\200\\351\\177)".to_vec());
        // A trailing backslash cannot escape the closing parenthesis.
        assert_eq!(literal(b"\\"), b"(\\\\)".to_vec());
    }

    #[test]
    fn every_byte_survives_a_literal_string() {
        let all: Vec<u8> = (0..=255).collect();
        let written = literal(&all);
        assert!(written.iter().all(|b| (0x20..=0x7e).contains(b)));
        assert_eq!(unescape(&written), all);
    }

    /// Reads a literal string back as a PDF reader does (for the escapes `literal` writes).
    fn unescape(written: &[u8]) -> Vec<u8> {
        let inner = &written[1..written.len() - 1];
        let mut out = Vec::new();
        let mut i = 0;
        while i < inner.len() {
            if inner[i] == b'\\' {
                let next = inner[i + 1];
                if next.is_ascii_digit() {
                    let octal = std::str::from_utf8(&inner[i + 1..i + 4]).unwrap();
                    out.push(u8::from_str_radix(octal, 8).unwrap());
                    i += 4;
                } else {
                    out.push(next);
                    i += 2;
                }
            } else {
                assert!(
                    inner[i] != b'(' && inner[i] != b')',
                    "unescaped parenthesis"
                );
                out.push(inner[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn text_strings_are_utf16_with_a_byte_order_mark() {
        assert_eq!(text_string("Aé€"), "<FEFF004100E920AC>");
        assert_eq!(text_string("\u{1F600}"), "<FEFFD83DDE00>");
    }

    #[test]
    fn uris_are_ascii_with_the_rest_percent_encoded() {
        assert_eq!(
            uri_bytes("https://x.test/a?b=c"),
            b"https://x.test/a?b=c".to_vec()
        );
        assert_eq!(
            uri_bytes("https://x.test/é d"),
            b"https://x.test/%C3%A9%20d".to_vec()
        );
    }

    #[test]
    fn the_xref_table_points_at_each_object() {
        let mut w = Writer::default();
        let a = w.add(b"<< /Type /Catalog >>".to_vec());
        let b = w.add_stream(b"BT ET");
        let bytes = w.finish(a, b);
        let offsets = super::super::tests::xref_offsets(&bytes);
        assert_eq!(offsets.len(), 2);
        for (index, offset) in offsets.iter().enumerate() {
            let expected = format!("{} 0 obj", index + 1);
            assert!(bytes[*offset..].starts_with(expected.as_bytes()));
        }
    }
}
