//! The format alone: a round trip, and each kind of damage refused.

use super::*;

fn header(first: u64, last: u64) -> Header {
    Header {
        format: FORMAT.into(),
        version: VERSION,
        stream: "LINKWAY".into(),
        subject_prefix: "linkway".into(),
        first_sequence: first,
        last_sequence: last,
        created_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn message(seq: u64) -> Message {
    Message::new(
        seq,
        format!("linkway.referral.r{seq}"),
        vec![
            ("Nats-Msg-Id".into(), format!("id-{seq}")),
            ("Linkway-Type".into(), "referral.received".into()),
            ("Nats-Expected-Last-Subject-Sequence".into(), "0".into()),
            (
                "traceparent".into(),
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
            ),
            ("Linkway-Version".into(), "2".into()),
        ],
        format!("{{\"n\":{seq},\"text\":\"a \\\"quoted\\\"\\nline é\"}}").as_bytes(),
    )
}

/// A backup of `first..=last` as the exporter writes it.
fn backup(first: u64, last: u64) -> Vec<u8> {
    let mut writer = Writer::new();
    let mut bytes = writer.header(&header(first, last));
    for seq in first..=last {
        bytes.extend(writer.message(&message(seq)));
    }
    bytes.extend(writer.trailer().0);
    bytes
}

/// Every line (with its newline) through a verifier.
fn verify(bytes: &[u8]) -> Result<(Verified, Vec<Message>), Damage> {
    let mut verifier = Verifier::new();
    let mut messages = Vec::new();
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        messages.extend(verifier.line(line)?);
    }
    Ok((verifier.finish()?, messages))
}

#[test]
fn a_backup_reads_back_as_written_with_its_checksum() {
    let bytes = backup(5, 9);
    let (verified, messages) = verify(&bytes).expect("a whole backup verifies");
    assert_eq!(verified.header, header(5, 9));
    assert_eq!(verified.events, 5);
    let body_end = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    assert_eq!(verified.sha256, to_hex(&Sha256::digest(&bytes[..body_end])));
    assert_eq!(messages, (5..=9).map(message).collect::<Vec<_>>());
    let first = &messages[0];
    assert_eq!(
        first.payload_bytes().unwrap(),
        "{\"n\":5,\"text\":\"a \\\"quoted\\\"\\nline é\"}".as_bytes()
    );
    let names: Vec<&str> = first.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Linkway-Type",
            "Linkway-Version",
            "Nats-Msg-Id",
            "traceparent"
        ],
        "sorted, every header but Nats-Expected-*"
    );
    // One message a line, however many newlines its payload holds.
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 7);
}

#[test]
fn an_empty_backup_verifies_and_a_non_utf8_payload_keeps_its_bytes() {
    let (verified, messages) = verify(&backup(8, 7)).expect("an empty incremental backup");
    assert_eq!((verified.events, messages.len()), (0, 0));

    let raw = [0xff, 0x00, b'\n', 0x80];
    let m = Message::new(1, "linkway.x.y".into(), vec![], &raw);
    assert_eq!(m.payload, None);
    assert_eq!(m.payload_hex.as_deref(), Some("ff000a80"));
    assert_eq!(m.payload_bytes().unwrap(), raw);
}

#[test]
fn one_changed_byte_anywhere_is_refused() {
    let bytes = backup(1, 3);
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        // A change that keeps the JSON readable where possible: a digit, a letter.
        damaged[at] = match damaged[at] {
            b'0'..=b'8' => damaged[at] + 1,
            b'9' => b'0',
            b'a'..=b'y' => damaged[at] + 1,
            other => other ^ 0x20,
        };
        assert!(
            verify(&damaged).is_err(),
            "byte {at} changed, still accepted"
        );
    }
}

#[test]
fn a_changed_payload_is_a_checksum_mismatch() {
    let bytes = String::from_utf8(backup(1, 3)).unwrap();
    let damaged = bytes.replacen("\\\"n\\\":2", "\\\"n\\\":7", 1);
    assert_ne!(damaged, bytes);
    assert!(matches!(
        verify(damaged.as_bytes()),
        Err(Damage::Checksum { .. })
    ));
}

#[test]
fn a_cut_short_or_extended_backup_is_refused() {
    let bytes = backup(1, 3);
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let without_trailer = lines[..lines.len() - 1].concat();
    assert_eq!(verify(&without_trailer).unwrap_err(), Damage::NoTrailer);
    assert!(matches!(
        verify(&bytes[..bytes.len() - 10]),
        Err(Damage::BadLine { line: 5, .. })
    ));
    let mut extended = bytes.clone();
    extended.extend_from_slice(b"{}\n");
    assert_eq!(verify(&extended).unwrap_err(), Damage::AfterTrailer);
    assert!(matches!(verify(b""), Err(Damage::NotABackup(_))));
}

#[test]
fn missing_reordered_or_foreign_messages_are_refused() {
    let write = |messages: &[Message], header: Header| {
        let mut writer = Writer::new();
        let mut bytes = writer.header(&header);
        for m in messages {
            bytes.extend(writer.message(m));
        }
        bytes.extend(writer.trailer().0);
        bytes
    };
    let gap = write(&[message(1), message(3)], header(1, 3));
    assert_eq!(
        verify(&gap).unwrap_err(),
        Damage::OutOfOrder {
            line: 3,
            expected: 2,
            found: 3
        }
    );
    let short = write(&[message(1), message(2)], header(1, 3));
    assert!(matches!(
        verify(&short),
        Err(Damage::CountMismatch {
            trailer: 2,
            counted: 2,
            promised: 3
        })
    ));
    let beyond = write(&[message(1), message(2)], header(1, 1));
    assert!(matches!(
        verify(&beyond),
        Err(Damage::BeyondLast { line: 3, .. })
    ));
    let mut foreign = message(1);
    foreign.subject = "linkwayx.referral.r1".into();
    assert!(matches!(
        verify(&write(&[foreign], header(1, 1))),
        Err(Damage::ForeignSubject { line: 2, .. })
    ));
    let mut checked = message(1);
    checked
        .headers
        .push(("Nats-Expected-Last-Sequence".into(), "0".into()));
    assert!(matches!(
        verify(&write(&[checked], header(1, 1))),
        Err(Damage::BadLine { line: 2, .. })
    ));
    let mut both = message(1);
    both.payload_hex = Some("00".into());
    assert!(matches!(
        verify(&write(&[both], header(1, 1))),
        Err(Damage::BadLine { line: 2, .. })
    ));
}

#[test]
fn an_unknown_format_or_version_is_refused() {
    let other = Header {
        version: 2,
        ..header(1, 0)
    };
    let mut writer = Writer::new();
    let mut bytes = writer.header(&other);
    bytes.extend(writer.trailer().0);
    assert_eq!(verify(&bytes).unwrap_err(), Damage::UnknownVersion(2));
    let not_ours = Header {
        format: "something-else".into(),
        ..header(1, 0)
    };
    let mut writer = Writer::new();
    let mut bytes = writer.header(&not_ours);
    bytes.extend(writer.trailer().0);
    assert!(matches!(verify(&bytes), Err(Damage::NotABackup(_))));
}

#[test]
fn only_nats_expected_headers_are_dropped() {
    for name in [
        "Nats-Expected-Last-Sequence",
        "Nats-Expected-Last-Subject-Sequence",
        "Nats-Expected-Last-Subject-Sequence-Subject",
        "nats-expected-stream",
    ] {
        assert!(is_expected_header(name), "{name}");
    }
    for name in ["Nats-Msg-Id", "Linkway-Type", "traceparent", "Nats-Exp"] {
        assert!(!is_expected_header(name), "{name}");
    }
}
