//! HTML mail bodies to plain text: a small linear scanner, not a browser. Tags go, entities are
//! decoded, block elements and `<br>` become line breaks, `<script>`, `<style>`, `<head>` and
//! comments vanish, and `<blockquote>` content is prefixed with `> ` so [`super::strip_quoted`]
//! can remove quoted history from HTML-only replies too.

/// Elements whose content is never text.
const SKIPPED: &[&str] = &[
    "head", "noscript", "object", "script", "style", "svg", "template", "title",
];

/// Elements that start and end on their own line.
const BLOCKS: &[&str] = &[
    "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset", "figure",
    "footer", "form", "header", "hr", "li", "main", "nav", "ol", "section", "table", "tbody",
    "thead", "tfoot", "tr", "ul",
];

/// Elements followed (and preceded) by a blank line.
const PARAGRAPHS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6", "p"];

/// Converts an HTML document or fragment to plain text with `\n` line ends.
pub fn html_to_text(html: &str) -> String {
    html_to_text_limited(html, usize::MAX).0
}

/// As [`html_to_text`], but stops soon after the text passes `max_bytes` (the caller cuts it),
/// so a huge body costs no more than the text that is kept; says whether it stopped early.
pub(super) fn html_to_text_limited(html: &str, max_bytes: usize) -> (String, bool) {
    let mut out = Out::default();
    let mut rest = html;
    while let Some(at) = rest.find(['<', '&']) {
        if out.buf.len() > max_bytes {
            return (out.finish(), true);
        }
        out.text(rest.get(..at).unwrap_or_default());
        let tail = rest.get(at..).unwrap_or_default();
        rest = if tail.starts_with('&') {
            let (decoded, used) = entity(tail);
            out.literal(decoded);
            tail.get(used..).unwrap_or_default()
        } else {
            tag(tail, &mut out)
        };
    }
    out.text(rest);
    (out.finish(), false)
}

/// Handles the markup at the start of `tail` (which starts with `<`); returns what follows it.
fn tag<'a>(tail: &'a str, out: &mut Out) -> &'a str {
    let after = tail.get(1..).unwrap_or_default();
    if let Some(comment) = after.strip_prefix("!--") {
        return comment
            .find("-->")
            .and_then(|end| comment.get(end + 3..))
            .unwrap_or_default();
    }
    let closing = after.starts_with('/');
    let name_start = after.trim_start_matches('/');
    let starts_markup = name_start
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '!' || c == '?');
    if !starts_markup {
        // "a < b" is text.
        out.literal('<');
        return after;
    }
    let Some(end) = tag_end(after) else {
        return "";
    };
    let rest = after.get(end + 1..).unwrap_or_default();
    let name: String = name_start
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if name.is_empty() {
        // <!DOCTYPE …>, <?xml …?>, <![CDATA[…]]> and the like.
        return rest;
    }
    if !closing && SKIPPED.contains(&name.as_str()) {
        let self_closing = after.get(..end).is_some_and(|t| t.ends_with('/'));
        if self_closing {
            return rest;
        }
        return find_ascii_ci(rest, &format!("</{name}"))
            .and_then(|at| rest.get(at..))
            .and_then(|closer| closer.find('>').and_then(|e| closer.get(e + 1..)))
            .unwrap_or_default();
    }
    match name.as_str() {
        "br" => out.line_break(),
        "blockquote" => {
            out.block();
            out.quote_depth = if closing {
                out.quote_depth.saturating_sub(1)
            } else {
                out.quote_depth.saturating_add(1).min(32)
            };
        }
        "pre" => {
            out.block();
            out.pre_depth = if closing {
                out.pre_depth.saturating_sub(1)
            } else {
                out.pre_depth.saturating_add(1).min(32)
            };
        }
        "li" if !closing => {
            out.block();
            out.text("- ");
        }
        "td" | "th" if closing => out.text(" "),
        n if PARAGRAPHS.contains(&n) => out.paragraph(),
        n if BLOCKS.contains(&n) => out.block(),
        _ => {}
    }
    rest
}

/// The index of the `>` ending the tag whose text starts `after`, skipping quoted attributes.
fn tag_end(after: &str) -> Option<usize> {
    let mut quote = None;
    for (i, b) in after.bytes().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), b) if q == b => quote = None,
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// ASCII case-insensitive search.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return None;
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Decodes the character reference at the start of `tail` (which starts with `&`); returns the
/// character and the bytes used. Unknown or unterminated references are a literal `&`.
fn entity(tail: &str) -> (char, usize) {
    let literal = ('&', 1);
    let Some(semi) = tail.bytes().take(34).position(|b| b == b';') else {
        return literal;
    };
    let name = tail.get(1..semi).unwrap_or_default();
    let decoded = if let Some(number) = name.strip_prefix('#') {
        let parsed = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => number.parse::<u32>(),
        };
        match parsed {
            Ok(0) => Some('\u{fffd}'),
            Ok(code) => Some(char::from_u32(code).unwrap_or('\u{fffd}')),
            Err(_) => None,
        }
    } else {
        named_entity(name)
    };
    match decoded {
        Some(c) => (c, semi + 1),
        None => literal,
    }
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "deg" => '°',
        "times" => '×',
        "iexcl" => '¡',
        "iquest" => '¿',
        "aacute" => 'á',
        "eacute" => 'é',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "Aacute" => 'Á',
        "Eacute" => 'É',
        "agrave" => 'à',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "ccedil" => 'ç',
        "Ccedil" => 'Ç',
        "atilde" => 'ã',
        "otilde" => 'õ',
        "ntilde" => 'ñ',
        "Ntilde" => 'Ñ',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        _ => return None,
    })
}

/// The text being built: HTML whitespace collapsing, at most one blank line in a row, and the
/// `> ` prefix inside blockquotes.
#[derive(Default)]
struct Out {
    buf: String,
    pending_space: bool,
    /// Newlines at the end of `buf` (0 when mid-line).
    newlines: usize,
    quote_depth: usize,
    pre_depth: usize,
}

impl Out {
    fn at_line_start(&self) -> bool {
        self.buf.is_empty() || self.newlines > 0
    }

    /// Source text: whitespace collapses unless inside `<pre>`.
    fn text(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '\r' => {}
                '\n' if self.pre_depth > 0 => self.line_break(),
                c if self.pre_depth == 0 && c.is_whitespace() => self.pending_space = true,
                c => self.literal(c),
            }
        }
    }

    /// A character that is kept as is (decoded entities, markers).
    fn literal(&mut self, c: char) {
        if c.is_control() && c != '\t' {
            return;
        }
        if self.at_line_start() {
            if c == ' ' && self.pre_depth == 0 {
                return;
            }
            for _ in 0..self.quote_depth {
                self.buf.push_str("> ");
            }
        } else if self.pending_space {
            self.buf.push(' ');
        }
        self.pending_space = false;
        self.newlines = 0;
        self.buf.push(c);
    }

    fn line_break(&mut self) {
        self.pending_space = false;
        if self.newlines >= 2 {
            return;
        }
        let trimmed = self.buf.trim_end_matches([' ', '\t']).len();
        self.buf.truncate(trimmed);
        self.buf.push('\n');
        self.newlines += 1;
    }

    fn block(&mut self) {
        if !self.at_line_start() {
            self.line_break();
        }
        self.pending_space = false;
    }

    fn paragraph(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        while self.newlines < 2 {
            self.line_break();
        }
    }

    fn finish(self) -> String {
        self.buf.trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_and_breaks_become_newlines() {
        let html = "<html><head><title>Hi</title><style>p{color:red}</style></head>\
            <body><p>Hello <b>Bob</b>,</p><p>Line one<br>Line&nbsp;two<br/></p>\
            <div>Bye</div></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hello Bob,\n\nLine one\nLine two\n\nBye"
        );
    }

    #[test]
    fn scripts_styles_and_comments_vanish() {
        let html = "a<script type=\"text/javascript\">if (x < 1) { alert('<b>') }</SCRIPT>b\
            <!-- secret <p> -->c<STYLE>.x{}</STYLE>d<!DOCTYPE html><?xml version=\"1.0\"?>e";
        assert_eq!(html_to_text(html), "abcde");
    }

    #[test]
    fn entities_are_decoded_and_unknown_ones_kept() {
        let html =
            "Caf&eacute; &amp; cr&#232;me &#x20AC;5 &lt;ok&gt; &bogus; AT&T &#0; &#99999999;";
        assert_eq!(
            html_to_text(html),
            "Café & crème €5 <ok> &bogus; AT&T \u{fffd} \u{fffd}"
        );
    }

    #[test]
    fn blockquotes_are_marked_as_quotes() {
        let html = "<div>Thanks!</div><div class=\"gmail_quote\">On Mon wrote:<br>\
            <blockquote>Hi<br>there<blockquote>deeper</blockquote></blockquote></div>";
        assert_eq!(
            html_to_text(html),
            "Thanks!\nOn Mon wrote:\n> Hi\n> there\n> > deeper"
        );
    }

    #[test]
    fn whitespace_collapses_except_in_pre_and_lists_get_dashes() {
        let html = "<p>  a \n\t b  </p><pre>x  y\n  z</pre><ul><li>one</li><li>two</li></ul>\
            <table><tr><td>c1</td><td>c2</td></tr></table>";
        assert_eq!(html_to_text(html), "a b\n\nx  y\n  z\n- one\n- two\nc1 c2");
    }

    #[test]
    fn stray_angle_brackets_and_unclosed_tags_do_not_panic() {
        assert_eq!(html_to_text("1 < 2 > 0"), "1 < 2 > 0");
        assert_eq!(html_to_text("text <a href=\"x>y"), "text");
        assert_eq!(html_to_text("<script>never closed"), "");
        assert_eq!(html_to_text("&"), "&");
        assert_eq!(html_to_text("<"), "<");
        assert_eq!(html_to_text("é<br>ü&"), "é\nü&");
    }
}
