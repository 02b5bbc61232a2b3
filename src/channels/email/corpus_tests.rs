//! Real-world-shaped mail from tests/fixtures/mail, and fuzzing around it.

use super::*;
use proptest::prelude::*;

const FIXTURES: &[&str] = &[
    "apple_inline_image.eml",
    "broken_truncated.eml",
    "cyrillic_koi8r.eml",
    "dsn_bounce.eml",
    "forwarded.eml",
    "gmail_reply.eml",
    "html_only_script.eml",
    "newsletter_bulk.eml",
    "out_of_office.eml",
    "outlook_from_block.eml",
    "outlook_original_message.eml",
    "pdf_attachment.eml",
    "persian_utf8.eml",
    "thunderbird_reply.eml",
];

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail")
}

fn raw(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load(name: &str) -> ParsedMail {
    parse(&raw(name)).unwrap_or_else(|| panic!("{name} did not parse"))
}

/// What every fixture is checked for; `new_text` must survive quote
/// stripping and `quoted` must not.
struct Expect<'a> {
    file: &'a str,
    subject: &'a str,
    from: &'a str,
    message_id: &'a str,
    in_reply_to: &'a [&'a str],
    references: &'a [&'a str],
    auto: AutoKind,
    new_text: &'a [&'a str],
    quoted: &'a [&'a str],
    attachments: &'a [(&'a str, &'a str)],
}

impl Default for Expect<'_> {
    fn default() -> Self {
        Expect {
            file: "",
            subject: "",
            from: "",
            message_id: "",
            in_reply_to: &[],
            references: &[],
            auto: AutoKind::Human,
            new_text: &[],
            quoted: &[],
            attachments: &[],
        }
    }
}

fn check(e: Expect<'_>) -> ParsedMail {
    let name = e.file;
    let m = load(name);
    assert_eq!(m.subject, e.subject, "{name}: subject");
    assert_eq!(
        m.from.as_ref().map(|f| f.address.as_str()),
        Some(e.from),
        "{name}: from"
    );
    assert_eq!(m.message_id.as_deref(), Some(e.message_id), "{name}: message_id");
    assert_eq!(m.in_reply_to, e.in_reply_to, "{name}: in_reply_to");
    assert_eq!(m.references, e.references, "{name}: references");
    assert_eq!(m.auto, e.auto, "{name}: auto");
    for t in e.new_text {
        assert!(m.text.contains(t), "{name}: text lacks {t:?}: {:?}", m.text);
        assert!(
            m.visible_text.contains(t),
            "{name}: visible_text lacks {t:?}: {:?}",
            m.visible_text
        );
    }
    for q in e.quoted {
        assert!(m.text.contains(q), "{name}: text lacks quoted {q:?}");
        assert!(
            !m.visible_text.contains(q),
            "{name}: visible_text keeps {q:?}: {:?}",
            m.visible_text
        );
    }
    let atts: Vec<(&str, &str)> = m
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.content_type.as_str()))
        .collect();
    assert_eq!(atts, e.attachments, "{name}: attachments");
    if let Some(html) = &m.html {
        let lower = html.to_lowercase();
        for bad in [
            "<script",
            "onclick",
            "onload",
            "onerror",
            "javascript:",
            "<iframe",
            "<style",
        ] {
            assert!(!lower.contains(bad), "{name}: sanitised html keeps {bad}: {html}");
        }
    }
    m
}

#[test]
fn email_corpus_fixture_list_is_complete_and_crlf() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, FIXTURES);
    for name in FIXTURES {
        let bytes = raw(name);
        let bare_lf = bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r') || bytes.first() == Some(&b'\n');
        assert!(!bare_lf, "{name} has a bare LF");
    }
}

#[test]
fn email_corpus_gmail_reply() {
    let m = check(Expect {
        file: "gmail_reply.eml",
        subject: "Re: [#42] Where is my order?",
        from: "ann.smith@gmail.com",
        message_id: "CAJx9Pq7-h1mZr+0Kx=GmailReply@mail.gmail.com",
        in_reply_to: &["20240603101500.4411.1@mail.storedesk.test"],
        references: &[
            "CAF1kqR0aBcD3eF@mail.storedesk.test",
            "20240603101500.4411.1@mail.storedesk.test",
        ],
        new_text: &["the blue mug is missing", "Could you send it separately?"],
        quoted: &["has shipped with DHL", "wrote:"],
        ..Default::default()
    });
    assert_eq!(m.from.unwrap().name.as_deref(), Some("Ann Smith"));
    assert_eq!(m.to, ["support+t8kq2z@mail.storedesk.test", "billing@acme.test"]);
    assert_eq!(m.date, Some(1_717_407_055_000));
    assert_eq!(ticket_ref(&m.subject), Some(42));
    assert!(m.html.unwrap().contains("the blue mug is missing"));
}

#[test]
fn email_corpus_outlook_original_message() {
    let m = check(Expect {
        file: "outlook_original_message.eml",
        subject: "RE: [#43] Refund for returned jacket",
        from: "klaus.bauer@contoso.example",
        message_id: "AM9PR03MB70012F3E0F1C2D4B8E9A1B2CC4F92@AM9PR03MB7001.eurprd03.prod.outlook.com",
        in_reply_to: &["20240603160000.1234.7@mail.storedesk.test"],
        references: &["20240603160000.1234.7@mail.storedesk.test"],
        new_text: &["the jacket was sent back on Friday", "Klaus Bauer"],
        quoted: &["-----Original Message-----", "enclosed label"],
        ..Default::default()
    });
    assert_eq!(m.from.unwrap().name.as_deref(), Some("Bauer, Klaus"));
    assert_eq!(m.html, None);
}

#[test]
fn email_corpus_outlook_from_block() {
    let m = check(Expect {
        file: "outlook_from_block.eml",
        subject: "RE: [#51] Delivery appointment",
        from: "maria.rossi@outlook.example",
        message_id: "DB9P193MB1428C0FFEE4B3D2A1E5F6A7B8C9D0E1F2@DB9P193MB1428.EURP193.PROD.OUTLOOK.COM",
        in_reply_to: &["20240605090200.777.3@mail.storedesk.test"],
        references: &["20240605090200.777.3@mail.storedesk.test"],
        new_text: &["Thursday works for me", "Maria"],
        quoted: &["Sent: Wednesday", "can the courier come", "________"],
        ..Default::default()
    });
    assert!(m.html.is_some());
}

#[test]
fn email_corpus_thunderbird_bottom_post_with_signature() {
    let m = check(Expect {
        file: "thunderbird_reply.eml",
        subject: "Re: [#60] Wrong size delivered",
        from: "jonas@posteo.example",
        message_id: "3f0c5a7e-1b2d-4c6e-9f80-aa11bb22cc33@posteo.example",
        in_reply_to: &["20240606120000.555.1@mail.storedesk.test"],
        references: &["20240606120000.555.1@mail.storedesk.test"],
        new_text: &["I ordered the shoes in 44", "An exchange would be great."],
        quoted: &["which size did you order", "Lindenstr. 5", "Acme Support wrote:"],
        ..Default::default()
    });
    assert_eq!(m.to, ["support+zz9yqw@mail.storedesk.test"]);
    assert_eq!(
        reply_token(&m.to[0], "support", "mail.storedesk.test").as_deref(),
        Some("zz9yqw")
    );
}

#[test]
fn email_corpus_apple_inline_image() {
    let m = check(Expect {
        file: "apple_inline_image.eml",
        subject: "Scratch on the lamp",
        from: "lucie.martin@icloud.example",
        message_id: "8E5F0C1A-2B3D-4E6F-A7B8-C9D0E1F2A3B4@icloud.example",
        new_text: &["the lamp arrived with a scratch"],
        attachments: &[("IMG_0042.png", "image/png")],
        ..Default::default()
    });
    let img = &m.attachments[0];
    assert!(img.inline);
    assert_eq!(
        img.content_id.as_deref(),
        Some("F3A1B2C4-5D6E-4F70-8192-A3B4C5D6E7F8@home")
    );
    assert!(img.data.starts_with(b"\x89PNG\r\n\x1a\n"));
    let html = m.html.unwrap();
    assert!(
        html.contains("src=\"cid:F3A1B2C4-5D6E-4F70-8192-A3B4C5D6E7F8@home\""),
        "{html}"
    );
    // The text part is preferred over text derived from the HTML.
    assert!(!m.text.contains('<'));
}

#[test]
fn email_corpus_cyrillic_koi8r_and_windows_1251() {
    let m = check(Expect {
        file: "cyrillic_koi8r.eml",
        subject: "Re: [#77] Заказ №1042 не пришёл",
        from: "ivan.petrov@yandex.example",
        message_id: "1717483272.112233@yandex.example",
        in_reply_to: &["20240603101500.9.1@mail.storedesk.test"],
        references: &["20240603101500.9.1@mail.storedesk.test"],
        new_text: &["Заказ 1042 до сих пор не пришёл", "Верните, пожалуйста, деньги."],
        quoted: &["написал(а):", "Ваш заказ передан в доставку."],
        ..Default::default()
    });
    assert_eq!(m.from.unwrap().name.as_deref(), Some("Иван Петров"));
    assert_eq!(clean_subject(&m.subject), "Заказ №1042 не пришёл");
    assert_eq!(ticket_ref(&m.subject), Some(77));
}

#[test]
fn email_corpus_persian() {
    let m = check(Expect {
        file: "persian_utf8.eml",
        subject: "پاسخ: سفارش من کجاست؟ [#88]",
        from: "sara.ahmadi@mail.example.ir",
        message_id: "a1b2c3d4e5@mail.example.ir",
        in_reply_to: &["20240603101500.88.1@mail.storedesk.test"],
        new_text: &["سفارش من هنوز نرسیده است"],
        quoted: &["نوشت:", "سفارش شما ارسال شد"],
        ..Default::default()
    });
    assert_eq!(m.from.unwrap().name.as_deref(), Some("سارا احمدی"));
    assert_eq!(clean_subject(&m.subject), "سفارش من کجاست؟");
    assert_eq!(ticket_ref(&m.subject), Some(88));
}

#[test]
fn email_corpus_forward_keeps_forwarded_content() {
    check(Expect {
        file: "forwarded.eml",
        subject: "Fwd: Your parcel has been delivered",
        from: "tom.h@gmail.example",
        message_id: "CAO+fwd8xYz=Q1w2e3r4t5y6u7i8o9p@mail.gmail.com",
        new_text: &[
            "never received the parcel",
            "delivered to the neighbour",
            "From: DHL Paket",
        ],
        ..Default::default()
    });
}

#[test]
fn email_corpus_pdf_attachment() {
    let m = check(Expect {
        file: "pdf_attachment.eml",
        subject: "Invoice needs a VAT number",
        from: "wei.chen@company.example",
        message_id: "20240609084500.GA31337@company.example",
        new_text: &["lacks our VAT number DE123456789"],
        attachments: &[("invoice-1042.pdf", "application/pdf")],
        ..Default::default()
    });
    let pdf = &m.attachments[0];
    assert!(!pdf.inline);
    assert!(pdf.data.starts_with(b"%PDF-1.4") && pdf.data.ends_with(b"%%EOF\n"));
    assert!(!m.text.contains("This is a multi-part message"));
}

#[test]
fn email_corpus_dsn_bounce() {
    let m = check(Expect {
        file: "dsn_bounce.eml",
        subject: "Undelivered Mail Returned to Sender",
        from: "mailer-daemon@mx.mail.storedesk.test",
        message_id: "20240610120005.4VxYz1235@mx.mail.storedesk.test",
        // The delayed recipient in the same report is not a failure.
        auto: AutoKind::Bounce {
            failed: vec!["no.such.user@customer.example".into()],
        },
        new_text: &["could not\nbe delivered"],
        attachments: &[
            ("attachment-1.txt", "message/delivery-status"),
            ("[#99] Your return label.eml", "message/rfc822"),
        ],
        ..Default::default()
    });
    let original = String::from_utf8(m.attachments[1].data.clone()).unwrap();
    assert!(
        original.starts_with("Received: by mx.mail.storedesk.test"),
        "{original}"
    );
    assert!(original.contains("Message-ID: <20240610120001.99.1@mail.storedesk.test>"));
    assert!(!original.contains("Undelivered Mail Returned"), "{original}");
    assert!(!original.contains("--4VxYz1234"), "{original}");
}

#[test]
fn email_corpus_out_of_office() {
    check(Expect {
        file: "out_of_office.eml",
        subject: "Automatic reply: [#42] Where is my order?",
        from: "peter.novak@firma.example",
        message_id: "6a7b8c9d0e1f4a2b8c3d4e5f6a7b8c9d@firma.example",
        in_reply_to: &["20240611065959.42.5@mail.storedesk.test"],
        references: &["20240611065959.42.5@mail.storedesk.test"],
        auto: AutoKind::AutoReply,
        new_text: &["out of the office until 24 June"],
        ..Default::default()
    });
}

#[test]
fn email_corpus_newsletter_is_bulk() {
    let m = check(Expect {
        file: "newsletter_bulk.eml",
        subject: "☀ Summer sale: 30% off",
        from: "news@news.shop.example",
        message_id: "nl.20240612.8c1f@news.shop.example",
        auto: AutoKind::Bulk,
        new_text: &["30% off all garden furniture"],
        ..Default::default()
    });
    assert_eq!(m.reply_to.unwrap().address, "no-reply@news.shop.example");
    let html = m.html.unwrap();
    assert!(html.contains("<b>garden furniture</b>") && html.contains("href=\"https://news.shop.example/sale"));
    assert!(!html.contains("background"));
}

#[test]
fn email_corpus_html_only_is_sanitised() {
    let m = check(Expect {
        file: "html_only_script.eml",
        subject: "Order problem",
        from: "eve@attacker.example",
        message_id: "evil.1@attacker.example",
        new_text: &["my order #1077 never arrived", "Please help."],
        ..Default::default()
    });
    assert!(
        !m.text.contains("document.cookie") && !m.text.contains("<p>"),
        "{}",
        m.text
    );
    let html = m.html.unwrap();
    assert!(html.contains("<b>#1077</b>"), "{html}");
    assert!(html.contains("href=\"https://tracking.example/1077\""), "{html}");
    for bad in [
        "steal",
        "document.cookie",
        "alert",
        "<form",
        "<input",
        "attacker.example/x.js",
        "bg.png",
    ] {
        assert!(!html.contains(bad), "sanitised html keeps {bad}: {html}");
    }
}

#[test]
fn email_corpus_broken_boundary_is_salvaged() {
    let m = check(Expect {
        file: "broken_truncated.eml",
        subject: "Photos of the damage",
        from: "broken@client.example",
        message_id: "broken.1@client.example",
        new_text: &["The box was crushed, photos attached."],
        attachments: &[("damage.jpg", "image/jpeg")],
        ..Default::default()
    });
    // Truncated mid-stream: whatever decoded is kept, starting as a JPEG.
    assert!(m.attachments[0].data.starts_with(&[0xff, 0xd8, 0xff]));
    assert!(!m.text.contains("--actual-boundary"));
}

#[test]
fn email_parse_rejects_headerless_input() {
    assert_eq!(parse(b""), None);
    assert_eq!(parse(b"\r\n\r\n"), None);
    assert_eq!(parse(b"\r\n\r\nbody without any header"), None);
}

#[test]
fn email_parse_minimal_message_has_defaults() {
    let m = parse(b"X-Nothing: here\r\n\r\nhello").unwrap();
    assert_eq!(m.subject, "");
    assert_eq!((m.from, m.message_id, m.date), (None, None, None));
    assert_eq!(m.text, "hello");
    assert_eq!(m.visible_text, "hello");
    assert_eq!(m.auto, AutoKind::Human);
}

#[test]
fn email_reply_token_and_slug() {
    let d = "mail.storedesk.test";
    assert_eq!(
        reply_token("acme-shop+Ab12Cd@mail.storedesk.test", "acme-shop", d).as_deref(),
        Some("Ab12Cd")
    );
    assert_eq!(
        reply_token("ACME-SHOP+tok@MAIL.Storedesk.TEST", "acme-shop", d).as_deref(),
        Some("tok")
    );
    assert_eq!(
        reply_token("Acme <acme-shop+tok@mail.storedesk.test>", "acme-shop", d).as_deref(),
        Some("tok")
    );
    assert_eq!(reply_token("acme-shop@mail.storedesk.test", "acme-shop", d), None);
    assert_eq!(reply_token("acme-shop+@mail.storedesk.test", "acme-shop", d), None);
    assert_eq!(reply_token("other+tok@mail.storedesk.test", "acme-shop", d), None);
    assert_eq!(reply_token("acme-shop+tok@evil.test", "acme-shop", d), None);
    assert_eq!(reply_token("not an address", "acme-shop", d), None);

    assert_eq!(
        slug_of("acme-shop@mail.storedesk.test", d).as_deref(),
        Some("acme-shop")
    );
    assert_eq!(
        slug_of("Acme-Shop+Tok@Mail.Storedesk.Test", d).as_deref(),
        Some("acme-shop")
    );
    assert_eq!(slug_of("acme-shop@other.test", d), None);
    assert_eq!(slug_of("acme-shop@sub.mail.storedesk.test", d), None);
    assert_eq!(slug_of("+tok@mail.storedesk.test", d), None);
    assert_eq!(slug_of("", d), None);
}

fn any_fixture() -> impl Strategy<Value = Vec<u8>> {
    (0..FIXTURES.len()).prop_map(|i| raw(FIXTURES[i]))
}

/// Pieces that steer random input into MIME structure, so the fuzzer reaches
/// nested parts, encodings and charsets instead of only the header parser.
const MIME_TOKENS: &[&str] = &[
    "\r\n",
    "\r\n\r\n",
    "\n",
    "From: a@b.test\r\n",
    "Subject: =?utf-8?B?0J/RgNC40LLQtdGC?=\r\n",
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
    "Content-Type: message/rfc822\r\n",
    "Content-Type: message/delivery-status\r\n",
    "Content-Type: text/html; charset=koi8-r\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "--b\r\n",
    "--b--\r\n",
    "--",
    "Final-Recipient: rfc822; x@y\r\n",
    "=?",
    "?=",
    "=\r\n",
    "<script>",
    "<",
    ">",
    "> quoted\r\n",
    "-- \r\n",
    "On Mon, 1 Jan 2024, A wrote:\r\n",
    "-----Original Message-----\r\n",
    "From: x\r\nSent: y\r\nTo: z\r\n",
    "AAAA",
    "\u{ff}",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn email_fuzz_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn email_fuzz_mime_soup(tokens in proptest::collection::vec(0..MIME_TOKENS.len(), 0..80)) {
        let raw: String = tokens.iter().map(|&i| MIME_TOKENS[i]).collect();
        let _ = parse(raw.as_bytes());
    }

    #[test]
    fn email_fuzz_mutated_fixtures(
        mut bytes in any_fixture(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..16),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn email_fuzz_string_helpers(s in "\\PC{0,80}", slug in "[a-zA-Z0-9+@.-]{0,12}", domain in "\\PC{0,20}") {
        let _ = ticket_ref(&s);
        let _ = clean_subject(&s);
        let _ = reply_token(&s, &slug, &domain);
        let _ = slug_of(&s, &domain);
        let _ = reply_token(&format!("{slug}+{s}@{domain}"), &slug, &domain);
        let _ = slug_of(&format!("{s}@{domain}"), &domain);
        let _ = quotes::visible(&s, false);
    }
}
