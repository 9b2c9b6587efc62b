//! Realistic messages as mail clients send them, and Mailgun's inbound-route form.

use super::*;

/// Real mail travels with CRLF; the samples are written with LF and sent both ways.
fn crlf(sample: &str) -> Vec<u8> {
    sample.replace('\n', "\r\n").into_bytes()
}

fn parse(sample: &str) -> InboundMail {
    let lf = parse_mime(sample.as_bytes(), &Limits::default()).unwrap();
    let crlf = parse_mime(&crlf(sample), &Limits::default()).unwrap();
    assert_eq!(lf, crlf, "LF and CRLF parse alike");
    lf
}

fn addr(email: &str, name: Option<&str>) -> Address {
    Address {
        email: email.to_owned(),
        name: name.map(str::to_owned),
    }
}

const THUNDERBIRD_PLAIN: &str = r#"Return-Path: <bob.mueller@example.org>
Received: from mail.example.org (mail.example.org [192.0.2.10])
	by mx.acme.example with ESMTPS id 4VtXyZ; Mon, 03 Jun 2024 08:15:02 +0000
Message-ID: <4f1c2b3a-9d8e-4c7b-a6f5-0e1d2c3b4a59@example.org>
Date: Mon, 3 Jun 2024 10:15:00 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-US
To: Holdfast Support <support@acme.example>
From: "Bob Müller" <Bob.Mueller@Example.ORG>
Subject: Printer on floor 3 is jammed
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Hi,

the printer on floor 3 shows error E-42 since this morning.

Thanks,
Bob
"#;

const HTML_ONLY: &str = r#"From: Carol Chen <carol@example.net>
To: support@acme.example
Subject: Invoice question
Message-ID: <0100018fd1e2a3b4-abc@email.example.net>
Date: Mon, 3 Jun 2024 11:00:00 +0000
MIME-Version: 1.0
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<!DOCTYPE html><html><head><meta charset=3D"utf-8"><title>Invoice</title>=
<style>p {margin:0}</style><script>alert("x")</script></head><body>
<p>Hello&nbsp;team,</p><p>Invoice <b>#1234</b> shows &euro;50 &amp; VAT.<br>=
Is that right?</p>
<div>Carol</div>
</body></html>
"#;

const GMAIL_ALTERNATIVE: &str = r#"MIME-Version: 1.0
Date: Mon, 3 Jun 2024 10:20:11 +0200
Message-ID: <CAJ+5kZ9o=XyQwerty@mail.gmail.com>
Subject: Password reset does not arrive
From: Dana Lee <dana.lee@gmail.com>
To: support@acme.example
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f6a7b8"

--000000000000a1b2c3d4e5f6a7b8
Content-Type: text/plain; charset="UTF-8"

Hi, the password reset email never arrives.

--000000000000a1b2c3d4e5f6a7b8
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Hi, the password reset email <b>never</b> arrives.</div>

--000000000000a1b2c3d4e5f6a7b8--
"#;

const MIXED_WITH_ATTACHMENTS: &str = r#"From: Erin Park <erin@example.com>
To: "Support" <support@acme.example>, reply+abcdefghijklmnopqrst123@inbound.acme.example
Cc: Boss <BOSS@example.com>
Subject: Damaged delivery, photos attached
Message-ID: <20240603101500.12345@example.com>
Date: Mon, 3 Jun 2024 10:15:00 -0400
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_Part_1_2"

This is a multi-part message in MIME format.
------=_Part_1_2
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

The box arrived crushed. Photos and the delivery note are attached.

------=_Part_1_2
Content-Type: application/pdf; name="delivery note.pdf"
Content-Disposition: attachment; filename="delivery note.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJeLjz9MKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyA+PgplbmRvYmoKdHJhaWxl
cgo8PCAvUm9vdCAxIDAgUiA+PgolJUVPRgo=
------=_Part_1_2
Content-Type: image/png; name="box.png"
Content-Disposition: inline; filename="box.png"
Content-ID: <box.png@01DAB5C3>
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAA=
------=_Part_1_2
Content-Type: text/html; name="../../etc/passwd"
Content-Disposition: attachment; filename="../../etc/passwd"
Content-Transfer-Encoding: base64

PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==
------=_Part_1_2--
"#;

const LATIN1_QP: &str = r#"From: =?ISO-8859-1?Q?Ren=E9_Fran=E7ois?= <rene@example.fr>
To: support@acme.example
Subject: =?ISO-8859-1?Q?Probl=E8me_de_facture?=
Message-ID: <5f3a.latin1@example.fr>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Bonjour,

La facture est erron=E9e, le montant d=FB est incorrect. Re=E7u hier.
"#;

const WINDOWS_1252_QP: &str = r#"From: Frank Weber <frank@example.de>
To: support@acme.example
Subject: Rechnung
MIME-Version: 1.0
Content-Type: text/plain; charset="windows-1252"
Content-Transfer-Encoding: quoted-printable

Der Betrag von 50 =80 ist zu hoch =96 bitte pr=FCfen. Caf=E9 =93gratis=94.
"#;

const ENCODED_WORD_SUBJECT: &str = r#"From: =?UTF-8?B?SsO8cmdlbg==?= <juergen@example.de>
To: support@acme.example
Subject: =?UTF-8?B?w5xuw69jw7Zkw6kg4pyTIFLDqWNsYW1hdGlvbg==?=
 =?UTF-8?Q?_suite?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

ok
"#;

const GMAIL_REPLY: &str = r#"MIME-Version: 1.0
References: <tk_01HZXABC@acme.example> <msg-2@acme.example>
In-Reply-To: <msg-2@acme.example>
From: Dana Lee <dana.lee@gmail.com>
Date: Tue, 4 Jun 2024 09:01:02 +0200
Message-ID: <CAJ+reply1=abc@mail.gmail.com>
Subject: Re: Password reset does not arrive [#1042]
To: Holdfast Support <reply+t0k3n_abcdefghijklmnop@INBOUND.acme.example>
Content-Type: multipart/alternative; boundary="0000000000009f8e7d6c5b4a3921"

--0000000000009f8e7d6c5b4a3921
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

It works now, thank you!

On Mon, Jun 3, 2024 at 10:30=E2=80=AFAM Holdfast Support <
reply+t0k3n_abcdefghijklmnop@inbound.acme.example> wrote:

> Hi Dana,
>
> We have resent the email. Could you check again?
>
> --
> Holdfast Support
>

--0000000000009f8e7d6c5b4a3921
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">It works now, thank you!</div><br><div class=3D"gmail_quot=
e"><div dir=3D"ltr" class=3D"gmail_attr">On Mon, Jun 3, 2024 at 10:30=E2=80=
=AFAM Holdfast Support &lt;<a href=3D"mailto:reply+t0k3n_abcdefghijklmnop@inb=
ound.acme.example">reply+t0k3n_abcdefghijklmnop@inbound.acme.example</a>&gt; =
wrote:<br></div><blockquote class=3D"gmail_quote" style=3D"margin:0px 0px 0px=
 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"><div dir=3D"l=
tr">Hi Dana,<div><br></div><div>We have resent the email.</div></div></blockq=
uote></div>

--0000000000009f8e7d6c5b4a3921--
"#;

const OUTLOOK_REPLY: &str = r#"From: Henry Ford <henry@contoso.example>
To: Holdfast Support <support@acme.example>
Subject: RE: Quote request
Thread-Topic: Quote request
Thread-Index: AQHatZ1x2y3z4A==
Date: Tue, 4 Jun 2024 09:00:00 +0000
Message-ID:
 <DM6PR11MB1234ABCD5678EF90.namprd11.prod.outlook.com>
References: <q-1@acme.example>
In-Reply-To: <q-1@acme.example>
Content-Language: en-US
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

Approved, please go ahead.

Henry

-----Original Message-----
From: Holdfast Support <support@acme.example>=20
Sent: Monday, June 3, 2024 5:00 PM
To: Henry Ford <henry@contoso.example>
Subject: Quote request

Here is the quote you asked for.
"#;

const APPLE_MAIL_REPLY: &str = r#"From: Grace Hopper <grace@example.com>
Content-Type: text/plain;
	charset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (Mac OS X Mail 16.0 \(3774.600.62\))
Subject: Re: Order #77
Date: Tue, 4 Jun 2024 11:00:00 +0200
References: <order-77@acme.example>
In-Reply-To: <order-77@acme.example>
To: support@acme.example
Message-Id: <8F2E1C3A-1B2C-4D5E-9F00-ABCDEF123456@example.com>
X-Mailer: Apple Mail (2.3774.600.62)

Please cancel it.

> On 3 Jun 2024, at 18:00, Holdfast Support <support@acme.example> wrote:
>=20
> Your order has shipped.
"#;

#[test]
fn plain_text_mail_gives_sender_subject_and_body() {
    let mail = parse(THUNDERBIRD_PLAIN);
    assert_eq!(
        mail.from,
        addr("bob.mueller@example.org", Some("Bob Müller"))
    );
    assert_eq!(
        mail.to,
        vec![addr("support@acme.example", Some("Holdfast Support"))]
    );
    assert_eq!(mail.subject, "Printer on floor 3 is jammed");
    assert_eq!(
        mail.message_id.as_deref(),
        Some("4f1c2b3a-9d8e-4c7b-a6f5-0e1d2c3b4a59@example.org")
    );
    assert!(mail.in_reply_to.is_empty() && mail.references.is_empty());
    assert_eq!(
        mail.text,
        "Hi,\n\nthe printer on floor 3 shows error E-42 since this morning.\n\nThanks,\nBob"
    );
    assert_eq!(mail.reply_text, mail.text);
    assert!(mail.attachments.is_empty() && !mail.truncated);
}

#[test]
fn html_only_mail_is_converted_to_text() {
    let mail = parse(HTML_ONLY);
    assert_eq!(
        mail.text,
        "Hello team,\n\nInvoice #1234 shows €50 & VAT.\nIs that right?\n\nCarol"
    );
    for absent in ["<", "alert", "margin", "Invoice\n"] {
        assert!(!mail.text.contains(absent), "{absent}");
    }
}

#[test]
fn multipart_alternative_prefers_the_plain_part() {
    let mail = parse(GMAIL_ALTERNATIVE);
    assert_eq!(mail.text, "Hi, the password reset email never arrives.");
    assert_eq!(
        mail.message_id.as_deref(),
        Some("CAJ+5kZ9o=XyQwerty@mail.gmail.com")
    );
}

#[test]
fn attachments_are_kept_with_safe_names_and_types() {
    let mail = parse(MIXED_WITH_ATTACHMENTS);
    assert_eq!(
        mail.text,
        "The box arrived crushed. Photos and the delivery note are attached."
    );
    assert_eq!(mail.cc, vec![addr("boss@example.com", Some("Boss"))]);
    let summary: Vec<(&str, &str)> = mail
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.content_type.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("delivery note.pdf", "application/pdf"),
            ("box.png", "image/png"),
            // Path gone, and HTML is never stored as HTML.
            ("passwd", "application/octet-stream"),
        ]
    );
    assert!(mail.attachments[0].bytes.starts_with(b"%PDF-1.4\n"));
    assert!(mail.attachments[0].bytes.ends_with(b"%%EOF\n"));
    assert!(mail.attachments[1].bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(mail.attachments[2].bytes, b"<script>alert(1)</script>");
    assert!(mail.dropped_attachments.is_empty());
    assert_eq!(
        reply_token(&mail.all_recipients(), Some("inbound.acme.example")).as_deref(),
        Some("abcdefghijklmnopqrst123")
    );
}

#[test]
fn oversized_attachments_are_dropped_and_named() {
    let limits = Limits {
        max_attachment_bytes: 40,
        ..Limits::default()
    };
    let mail = parse_mime(MIXED_WITH_ATTACHMENTS.as_bytes(), &limits).unwrap();
    assert_eq!(mail.dropped_attachments, vec!["delivery note.pdf"]);
    let kept: Vec<&str> = mail
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(kept, vec!["box.png", "passwd"]);
}

#[test]
fn too_many_attachments_or_too_many_bytes_are_refused() {
    let limits = Limits {
        max_attachments: 2,
        ..Limits::default()
    };
    assert_eq!(
        parse_mime(MIXED_WITH_ATTACHMENTS.as_bytes(), &limits),
        Err(MailError::TooManyAttachments)
    );
    let limits = Limits {
        max_total_bytes: 200,
        ..Limits::default()
    };
    assert_eq!(
        parse_mime(MIXED_WITH_ATTACHMENTS.as_bytes(), &limits),
        Err(MailError::TooLarge)
    );
}

#[test]
fn latin1_quoted_printable_is_decoded() {
    let mail = parse(LATIN1_QP);
    assert_eq!(mail.from, addr("rene@example.fr", Some("René François")));
    assert_eq!(mail.subject, "Problème de facture");
    assert_eq!(
        mail.text,
        "Bonjour,\n\nLa facture est erronée, le montant dû est incorrect. Reçu hier."
    );
}

#[test]
fn windows_1252_quoted_printable_is_decoded() {
    let mail = parse(WINDOWS_1252_QP);
    assert_eq!(
        mail.text,
        "Der Betrag von 50 € ist zu hoch – bitte prüfen. Café “gratis”."
    );
}

#[test]
fn encoded_word_subject_and_name_are_decoded() {
    let mail = parse(ENCODED_WORD_SUBJECT);
    assert_eq!(mail.subject, "Ünïcödé ✓ Réclamation suite");
    assert_eq!(mail.from.name.as_deref(), Some("Jürgen"));
}

#[test]
fn a_huge_body_is_truncated_at_a_character_boundary() {
    let limits = Limits::default();
    let body = "é".repeat(limits.max_text_bytes); // twice the cap in bytes
    let raw = format!(
        "From: big@example.com\nSubject: big\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
    );
    let mail = parse_mime(raw.as_bytes(), &limits).unwrap();
    assert!(mail.truncated);
    assert_eq!(mail.text.len(), limits.max_text_bytes);
    assert!(mail.text.chars().all(|c| c == 'é'));

    let odd = Limits {
        max_text_bytes: 5,
        ..limits
    };
    let mail = parse_mime(raw.as_bytes(), &odd).unwrap();
    assert_eq!(mail.text, "éé");
    assert!(mail.truncated);

    let html = format!(
        "From: big@example.com\nContent-Type: text/html\n\n{}",
        "<p>spam &amp; eggs</p>".repeat(30_000)
    );
    let mail = parse_mime(html.as_bytes(), &limits).unwrap();
    assert!(mail.truncated && mail.text.len() <= limits.max_text_bytes);
}

#[test]
fn gmail_reply_is_threaded_by_ids_and_token_and_loses_the_quote() {
    let mail = parse(GMAIL_REPLY);
    assert_eq!(
        mail.message_id.as_deref(),
        Some("CAJ+reply1=abc@mail.gmail.com")
    );
    assert_eq!(mail.in_reply_to, vec!["msg-2@acme.example"]);
    assert_eq!(
        mail.references,
        vec!["tk_01HZXABC@acme.example", "msg-2@acme.example"]
    );
    assert_eq!(mail.reply_text, "It works now, thank you!");
    assert!(mail.text.contains("> We have resent the email."));
    assert_eq!(
        reply_token(&mail.all_recipients(), Some("inbound.acme.example")).as_deref(),
        Some("t0k3n_abcdefghijklmnop")
    );
    // The HTML alternative alone strips the same way (blockquote → "> ").
    let boundary = "--0000000000009f8e7d6c5b4a3921\n";
    let (head, rest) = GMAIL_REPLY.split_once(boundary).unwrap();
    let (_plain, html) = rest.split_once(boundary).unwrap();
    let html_only = format!("{head}{boundary}{html}");
    let mail = parse(&html_only);
    assert_eq!(mail.reply_text, "It works now, thank you!");
}

#[test]
fn outlook_reply_loses_the_original_message_block() {
    let mail = parse(OUTLOOK_REPLY);
    assert_eq!(
        mail.message_id.as_deref(),
        Some("DM6PR11MB1234ABCD5678EF90.namprd11.prod.outlook.com")
    );
    assert_eq!(mail.in_reply_to, vec!["q-1@acme.example"]);
    assert_eq!(mail.reply_text, "Approved, please go ahead.\n\nHenry");
}

#[test]
fn apple_mail_reply_loses_the_quote() {
    let mail = parse(APPLE_MAIL_REPLY);
    assert_eq!(mail.references, vec!["order-77@acme.example"]);
    assert_eq!(mail.reply_text, "Please cancel it.");
}

#[test]
fn ids_are_normalised_and_only_the_last_fifty_references_kept() {
    let mut references: Vec<String> = (0..60).map(|i| format!("<ref-{i}@example.com>")).collect();
    references.insert(30, format!("<{}@example.com>", "x".repeat(1000)));
    let raw = format!(
        "From: a@example.com\nMessage-ID:   <  spaced@example.com >\nIn-Reply-To: bare@example.com\nReferences: {}\n\nhi\n",
        references.join("\n ")
    );
    let mail = parse_mime(raw.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(mail.message_id.as_deref(), Some("spaced@example.com"));
    assert_eq!(mail.in_reply_to, vec!["bare@example.com"]);
    assert_eq!(mail.references.len(), MAX_REFERENCES);
    assert_eq!(mail.references[0], "ref-10@example.com");
    assert_eq!(mail.references[49], "ref-59@example.com");
}

#[test]
fn a_mail_without_from_is_refused() {
    let raw = "To: support@acme.example\nSubject: who am I\n\nhello\n";
    assert_eq!(
        parse_mime(raw.as_bytes(), &Limits::default()),
        Err(MailError::NoSender)
    );
    let raw = "From: undisclosed-recipients:;\nSubject: x\n\nhello\n";
    assert_eq!(
        parse_mime(raw.as_bytes(), &Limits::default()),
        Err(MailError::NoSender)
    );
    // Sender stands in for a missing From.
    let raw = "Sender: list@example.com\n\nhello\n";
    let mail = parse_mime(raw.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(mail.from.email, "list@example.com");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for raw in [
        &b""[..],
        b"   \r\n",
        b"\x00\xff\xfe\xfd garbage",
        b"no headers at all, just words",
        b"From:\n\n",
        b"From: <>\n\n",
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x\n--x--",
    ] {
        assert!(parse_mime(raw, &Limits::default()).is_err(), "{raw:?}");
    }
    assert_eq!(
        parse_mime(b"", &Limits::default()),
        Err(MailError::Malformed("the message is empty"))
    );
}

#[test]
fn error_texts_are_safe_to_show() {
    assert_eq!(
        MailError::NoSender.to_string(),
        "the message has no sender address"
    );
    assert_eq!(
        MailError::Malformed("the message is empty").to_string(),
        "the message is malformed: the message is empty"
    );
}

#[test]
fn filenames_are_sanitised() {
    assert_eq!(sanitize_filename("../../etc/passwd", "f"), "passwd");
    assert_eq!(
        sanitize_filename("C:\\Users\\x\\report.pdf", "f"),
        "report.pdf"
    );
    assert_eq!(
        sanitize_filename("invoice\u{202e}fdp.exe", "f"),
        "invoicefdp.exe"
    );
    assert_eq!(sanitize_filename("a\r\nb\0c.txt", "f"), "abc.txt");
    assert_eq!(sanitize_filename("...", "f"), "f");
    assert_eq!(sanitize_filename(".htaccess", "f"), "htaccess");
    assert_eq!(sanitize_filename("what?.txt", "f"), "what_.txt");
    let long = format!("{}.pdf", "é".repeat(300));
    let cut = sanitize_filename(&long, "f");
    assert_eq!(cut.chars().count(), MAX_FILENAME_CHARS);
    assert!(cut.ends_with("é.pdf"));
}

// ---- Mailgun's parsed inbound route ----

const MAILGUN_BOUNDARY: &str = "a1b2c3d4e5f6";

fn mailgun_form(parts: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in parts {
        body.extend_from_slice(
            format!(
                "--{MAILGUN_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, filename, content_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{MAILGUN_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{MAILGUN_BOUNDARY}--\r\n").as_bytes());
    body
}

fn mailgun_fields(body: &[u8]) -> Vec<(String, FieldValue)> {
    parse_multipart_form(
        &format!("multipart/form-data; boundary={MAILGUN_BOUNDARY}"),
        body,
        &Limits::default(),
    )
    .unwrap()
}

const MAILGUN_HEADERS: &str = r#"[["Received", "by mx.example"], ["In-Reply-To", "<msg-2@acme.example>"], ["References", "<tk_1@acme.example>\r\n <msg-2@acme.example>"], ["Message-Id", "<CAJ+mg@mail.gmail.com>"], ["Cc", "Ops <ops@example.com>"]]"#;

#[test]
fn mailgun_parsed_route_fields_make_a_mail() {
    let body = mailgun_form(
        &[
            (
                "recipient",
                "reply+t0k3n_abcdefghijklmnop@inbound.acme.example",
            ),
            ("sender", "bounces+123@mg.example.net"),
            ("from", "Dana Lee <Dana.Lee@gmail.com>"),
            (
                "To",
                "Holdfast Support <reply+t0k3n_abcdefghijklmnop@inbound.acme.example>",
            ),
            ("subject", "Re: Password reset [#1042]"),
            (
                "body-plain",
                "Here is the screenshot.\r\n\r\nOn Mon, Support wrote:\r\n> Can you send one?\r\n",
            ),
            ("stripped-text", "Here is the screenshot."),
            ("body-html", "<div>Here is the screenshot.</div>"),
            ("attachment-count", "2"),
            ("message-headers", MAILGUN_HEADERS),
            ("timestamp", "1717405200"),
            (
                "token",
                "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6",
            ),
            (
                "signature",
                "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33",
            ),
        ],
        &[
            (
                "attachment-1",
                "screen shot.png",
                "image/png",
                b"\x89PNG\r\n\x1a\n--a1b2c3d4e5f6x",
            ),
            (
                "attachment-2",
                "..\\evil.svg",
                "image/svg+xml",
                b"<svg onload=alert(1)/>",
            ),
        ],
    );
    let mail = from_mailgun_fields(&mailgun_fields(&body), &Limits::default()).unwrap();
    assert_eq!(mail.from, addr("dana.lee@gmail.com", Some("Dana Lee")));
    assert_eq!(
        mail.envelope_to,
        vec![addr(
            "reply+t0k3n_abcdefghijklmnop@inbound.acme.example",
            None
        )]
    );
    assert_eq!(mail.cc, vec![addr("ops@example.com", Some("Ops"))]);
    assert_eq!(mail.subject, "Re: Password reset [#1042]");
    assert_eq!(mail.message_id.as_deref(), Some("CAJ+mg@mail.gmail.com"));
    assert_eq!(mail.in_reply_to, vec!["msg-2@acme.example"]);
    assert_eq!(
        mail.references,
        vec!["tk_1@acme.example", "msg-2@acme.example"]
    );
    assert!(mail.text.starts_with("Here is the screenshot.\n\nOn Mon"));
    assert_eq!(mail.reply_text, "Here is the screenshot.");
    let summary: Vec<(&str, &str, usize)> = mail
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.content_type.as_str(), a.bytes.len()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("screen shot.png", "image/png", 23),
            ("evil.svg", "application/octet-stream", 22),
        ]
    );
    assert_eq!(
        reply_token(&mail.all_recipients(), Some("inbound.acme.example")).as_deref(),
        Some("t0k3n_abcdefghijklmnop")
    );
}

#[test]
fn mailgun_fields_fall_back_to_html_sender_and_own_stripping() {
    let fields = vec![
        (
            "sender".to_owned(),
            FieldValue::Text("Bounce@Example.net".into()),
        ),
        (
            "body-html".to_owned(),
            FieldValue::Text("<p>New&nbsp;text</p><blockquote>old</blockquote>".into()),
        ),
        (
            "Message-Id".to_owned(),
            FieldValue::Text("<direct@example.net>".into()),
        ),
    ];
    let mail = from_mailgun_fields(&fields, &Limits::default()).unwrap();
    assert_eq!(mail.from, addr("bounce@example.net", None));
    assert_eq!(mail.text, "New text\n\n> old");
    assert_eq!(mail.reply_text, "New text");
    assert_eq!(mail.message_id.as_deref(), Some("direct@example.net"));

    let no_sender = vec![("body-plain".to_owned(), FieldValue::Text("hi".into()))];
    assert_eq!(
        from_mailgun_fields(&no_sender, &Limits::default()),
        Err(MailError::NoSender)
    );
    let many: Vec<(String, FieldValue)> =
        std::iter::once(("from".to_owned(), FieldValue::Text("a@b.c".into())))
            .chain((1..=11).map(|i| {
                (
                    format!("attachment-{i}"),
                    FieldValue::File {
                        filename: format!("{i}.txt"),
                        content_type: "text/plain".into(),
                        bytes: vec![b'x'],
                    },
                )
            }))
            .collect();
    assert_eq!(
        from_mailgun_fields(&many, &Limits::default()),
        Err(MailError::TooManyAttachments)
    );
}

#[test]
fn mailgun_body_mime_wins_over_parsed_fields() {
    let body = mailgun_form(
        &[
            ("recipient", "support@acme.example"),
            ("sender", "someone-else@example.com"),
            ("from", "Someone Else <someone-else@example.com>"),
            ("subject", "ignored"),
            ("body-plain", "ignored"),
            ("body-mime", THUNDERBIRD_PLAIN),
        ],
        &[],
    );
    let mail = from_mailgun_fields(&mailgun_fields(&body), &Limits::default()).unwrap();
    assert_eq!(mail.from.email, "bob.mueller@example.org");
    assert_eq!(mail.subject, "Printer on floor 3 is jammed");
    assert!(mail.text.starts_with("Hi,\n\nthe printer"));
    assert_eq!(mail.envelope_to, vec![addr("support@acme.example", None)]);
}

// ---- Reply tokens ----

#[test]
fn reply_tokens_are_found_only_in_the_right_shape() {
    let token = "AbCdEfGhIjKlMnOpQrSt_-09";
    let good = addr(&reply_address("Reply", token, "Inbound.Acme.Example"), None);
    assert_eq!(
        good.email,
        "reply+abcdefghijklmnopqrst_-09@inbound.acme.example"
    );
    let support = addr("support@acme.example", Some("Support"));
    assert_eq!(
        reply_token(
            &[support.clone(), good.clone()],
            Some("inbound.acme.example")
        )
        .as_deref(),
        Some("abcdefghijklmnopqrst_-09")
    );
    // An uppercase domain (or hint) still matches; the token comes back lowercase.
    let upper = addr("reply+ABCDEFGHIJKLMNOPQRST@INBOUND.ACME.EXAMPLE", None);
    assert_eq!(
        reply_token(std::slice::from_ref(&upper), Some("Inbound.Acme.Example.")).as_deref(),
        Some("abcdefghijklmnopqrst")
    );
    assert_eq!(
        reply_token(std::slice::from_ref(&good), None).as_deref(),
        Some("abcdefghijklmnopqrst_-09")
    );
    // No token at all, another domain, or the wrong shape.
    assert_eq!(reply_token(&[support], None), None);
    assert_eq!(reply_token(&[good], Some("acme.example")), None);
    for bad in [
        "reply+short@inbound.acme.example",
        &format!("reply+{}@inbound.acme.example", "a".repeat(65)),
        "reply+abcdefghijklmnopqrst.uv@inbound.acme.example",
        "reply+abcdefghijklmnopqrst+x@inbound.acme.example",
        "+abcdefghijklmnopqrstuv@inbound.acme.example",
        "reply+abcdefghijklmnopqrstuv",
        "reply+abcdéfghijklmnopqrstuv@inbound.acme.example",
    ] {
        assert_eq!(reply_token(&[addr(bad, None)], None), None, "{bad}");
    }
}

// ---- No panics on any input ----

/// xorshift64: deterministic, so a failure is reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        // Bias towards the bytes parsers branch on, so the fuzz reaches past the first check.
        const INTERESTING: &[u8] = b"<>&;:=?-\r\n \t\"'/\\+@";
        (0..len)
            .map(|_| {
                let r = self.next();
                match r % 4 {
                    0 => INTERESTING[(r >> 8) as usize % INTERESTING.len()],
                    _ => (r >> 16) as u8,
                }
            })
            .collect()
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let limits = Limits {
        max_text_bytes: 64,
        max_attachment_bytes: 16,
        max_attachments: 3,
        max_total_bytes: 1 << 20,
    };
    let prefixes: [&[u8]; 4] = [
        b"",
        b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
        b"From: a@b.c\r\nContent-Type: text/html; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
        b"From: =?utf-8?B?",
    ];
    for round in 0..300 {
        let len = (rng.next() % 1500) as usize;
        let mut input = prefixes[round % prefixes.len()].to_vec();
        input.extend(rng.bytes(len));
        let _ = parse_mime(&input, &limits);
        let text = String::from_utf8_lossy(&input);
        let _ = html_to_text(&text);
        let _ = strip_quoted(&text);
        let mut form =
            b"--x\r\nContent-Disposition: form-data; name=\"body-mime\"\r\n\r\n".to_vec();
        form.extend(&input);
        form.extend(b"\r\n--x--\r\n");
        let fields = parse_multipart_form("multipart/form-data; boundary=x", &form, &limits);
        let _ = parse_multipart_form("multipart/form-data; boundary=x", &input, &limits);
        if let Ok(fields) = fields {
            let _ = from_mailgun_fields(&fields, &limits);
        }
        let as_fields = vec![
            ("from".to_owned(), FieldValue::Text(text.to_string())),
            ("body-html".to_owned(), FieldValue::Text(text.to_string())),
            ("References".to_owned(), FieldValue::Text(text.to_string())),
        ];
        let _ = from_mailgun_fields(&as_fields, &limits);
        let _ = reply_token(&[addr(&text, None)], Some(&text));
    }
}
