//! Quoted history and signatures out of a reply, so a ticket shows only what is new.

/// Attribution lines longer than this (joined over up to three lines) are prose, not headers.
const MAX_ATTRIBUTION_CHARS: usize = 400;

/// Removes quoted history from a reply: `>` lines, "On … wrote:" attributions (also Spanish,
/// Portuguese, French, German, Italian, Dutch), Outlook's "-----Original Message-----" and
/// "From: … Sent: …" blocks, everything from a `-- ` signature separator, and a trailing
/// "Sent from my …" line. An attribution followed by `>` lines only drops those lines, so
/// answers written between quotes stay. Never empty when `text` has text: if everything would
/// go, `text` comes back unchanged. Line ends become `\n`.
pub fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        let rest = lines.get(i..).unwrap_or_default();
        if is_signature_separator(line) || is_original_message(line) || is_outlook_header(rest) {
            break;
        }
        if let Some(span) = attribution_span(rest) {
            let next = rest
                .get(span..)
                .unwrap_or_default()
                .iter()
                .find(|l| !l.trim().is_empty());
            if next.is_some_and(|l| l.trim_start().starts_with('>')) {
                i += span;
                continue;
            }
            break;
        }
        if !line.trim_start().starts_with('>') {
            kept.push(line);
        }
        i += 1;
    }
    while kept.last().is_some_and(|l| is_trailing_noise(l)) {
        kept.pop();
    }
    let first = kept
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(kept.len());
    let stripped = kept.get(first..).unwrap_or_default().join("\n");
    if stripped.trim().is_empty() {
        return text.to_owned();
    }
    stripped
}

/// RFC 3676's `-- ` (many clients drop the trailing space).
fn is_signature_separator(line: &str) -> bool {
    line == "-- " || line.trim_end() == "--"
}

/// `-----Original Message-----` and its translations.
fn is_original_message(line: &str) -> bool {
    let t = line.trim();
    if !t.starts_with("--") {
        return false;
    }
    let inner = t
        .trim_matches(|c: char| c == '-' || c.is_whitespace())
        .to_lowercase();
    matches!(
        inner.as_str(),
        "original message"
            | "mensaje original"
            | "mensagem original"
            | "message d'origine"
            | "ursprüngliche nachricht"
            | "messaggio originale"
            | "oorspronkelijk bericht"
    )
}

/// Outlook's header block: a `From:` line followed closely by a date line and a subject (or
/// recipient) line. Bold markers (`*From:*`) from HTML conversions are ignored.
fn is_outlook_header(lines: &[&str]) -> bool {
    const FROM: &[&str] = &["from:", "de:", "von:", "da:", "van:"];
    const DATE: &[&str] = &[
        "sent:",
        "date:",
        "enviado:",
        "enviado el:",
        "envoyé :",
        "envoyé:",
        "gesendet:",
        "datum:",
        "fecha:",
        "data:",
        "inviato:",
        "verzonden:",
    ];
    const SUBJECT: &[&str] = &[
        "subject:",
        "to:",
        "asunto:",
        "assunto:",
        "para:",
        "objet :",
        "objet:",
        "à :",
        "betreff:",
        "an:",
        "oggetto:",
        "a:",
        "onderwerp:",
        "aan:",
    ];
    let starts = |line: &str, prefixes: &[&str]| {
        let line = line
            .trim()
            .trim_start_matches('*')
            .to_lowercase()
            .replace('*', "");
        prefixes.iter().any(|p| line.starts_with(p))
    };
    let Some((first, rest)) = lines.split_first() else {
        return false;
    };
    if !starts(first, FROM) {
        return false;
    }
    let near = rest.iter().take(5);
    let has_date = near.clone().take(3).any(|l| starts(l, DATE));
    has_date && near.skip(1).any(|l| starts(l, SUBJECT))
}

/// How many lines (one to three) form an attribution line at the start of `lines`.
fn attribution_span(lines: &[&str]) -> Option<usize> {
    let mut joined = String::new();
    for (index, line) in lines.iter().take(3).enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('>') {
            return None;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line);
        if joined.chars().count() > MAX_ATTRIBUTION_CHARS {
            return None;
        }
        if is_attribution(&joined) {
            return Some(index + 1);
        }
    }
    None
}

fn is_attribution(line: &str) -> bool {
    let t = line
        .replace(['\u{a0}', '\u{202f}'], " ")
        .trim()
        .to_lowercase();
    let between = |start: &str, end: &str| t.starts_with(start) && t.ends_with(end);
    between("on ", "wrote:")
        || between("el ", "escribió:")
        || between("em ", "escreveu:")
        || between("le ", "a écrit :")
        || between("le ", "a écrit:")
        || (between("am ", ":") && t.contains(" schrieb "))
        || between("il ", "ha scritto:")
        || (between("op ", ":") && t.contains(" schreef "))
}

/// Blank lines, separator rules and mobile footers left at the end after the cut.
fn is_trailing_noise(line: &str) -> bool {
    let t = line.trim().to_lowercase();
    t.is_empty()
        || (t.len() >= 3 && t.chars().all(|c| matches!(c, '_' | '-' | '=')))
        || [
            "sent from my ",
            "get outlook for ",
            "enviado desde mi ",
            "enviado do meu ",
        ]
        .iter()
        .any(|p| t.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_attribution_and_quotes_go() {
        let text = "Thanks, that worked.\n\nOn Mon, 3 Jun 2024 at 10:15, Support <help@example.com> wrote:\n> Hi Bob,\n>\n> Try a restart.\n";
        assert_eq!(strip_quoted(text), "Thanks, that worked.");
    }

    #[test]
    fn a_wrapped_attribution_is_recognised() {
        let text = "Yes please.\r\n\r\nOn Mon, Jun 3, 2024 at 10:15 AM Holdfast Support <\r\nhelp@example.com> wrote:\r\n\r\n> Shall we?\r\n";
        assert_eq!(strip_quoted(text), "Yes please.");
    }

    #[test]
    fn other_languages_are_recognised() {
        for attribution in [
            "El lun, 3 jun 2024 a las 10:15, Soporte (<help@example.com>) escribió:",
            "Em seg., 3 de jun. de 2024 às 10:15, Suporte <help@example.com> escreveu:",
            "Le lun. 3 juin 2024 à 10:15, Support <help@example.com> a\u{a0}écrit\u{a0}:",
            "Am Mo., 3. Juni 2024 um 10:15 Uhr schrieb Support <help@example.com>:",
            "Il giorno lun 3 giu 2024 alle ore 10:15 Support <help@example.com> ha scritto:",
        ] {
            let text = format!("Nueva respuesta.\n\n{attribution}\n\n> Texto citado\n");
            assert_eq!(strip_quoted(&text), "Nueva respuesta.", "{attribution}");
            // Without `>` quoting, everything after the attribution goes.
            let text = format!("Nueva respuesta.\n{attribution}\nTexto citado\n");
            assert_eq!(strip_quoted(&text), "Nueva respuesta.", "{attribution}");
        }
    }

    #[test]
    fn outlook_blocks_go() {
        let text = "See attached.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nSubject: Re: x\n\nOld";
        assert_eq!(strip_quoted(text), "See attached.");
        let text = "Got it, thanks\r\n\r\n________________________________\r\nFrom: Holdfast Support <help@example.com>\r\nSent: Monday, June 3, 2024 10:15 AM\r\nTo: Bob <bob@example.org>\r\nSubject: Re: Printer [#42]\r\n\r\nHi Bob,\r\n";
        assert_eq!(strip_quoted(text), "Got it, thanks");
        let text = "Danke\n\n*Von:* Support <help@example.com>\n*Gesendet:* Montag, 3. Juni 2024 10:15\n*An:* Bob\n*Betreff:* Drucker\n\nAlt";
        assert_eq!(strip_quoted(text), "Danke");
    }

    #[test]
    fn a_from_line_alone_is_kept() {
        let text = "From: the manual, page 3.\nIt says to restart.";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn signatures_and_mobile_footers_go() {
        assert_eq!(
            strip_quoted("Fixed now.\n-- \nBob\nACME Corp"),
            "Fixed now."
        );
        assert_eq!(strip_quoted("Fixed now.\n--\nBob"), "Fixed now.");
        assert_eq!(
            strip_quoted("Fixed now.\n\nSent from my iPhone"),
            "Fixed now."
        );
    }

    #[test]
    fn inline_answers_between_quotes_stay() {
        let text = "On Mon, Support wrote:\n> Which model?\nThe X200.\n> Which version?\n4.2\n";
        assert_eq!(strip_quoted(text), "The X200.\n4.2");
    }

    #[test]
    fn never_empty_when_the_original_had_text() {
        let only_quote = "> all quoted\n> here";
        assert_eq!(strip_quoted(only_quote), only_quote);
        assert_eq!(strip_quoted("-- \nsig only"), "-- \nsig only");
        assert_eq!(strip_quoted(""), "");
        assert_eq!(strip_quoted("plain"), "plain");
    }

    #[test]
    fn prose_starting_with_on_is_kept() {
        let text = "On Monday we tried again.\nIt still fails.";
        assert_eq!(strip_quoted(text), text);
    }
}
