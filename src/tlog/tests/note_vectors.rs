//! Signed notes against the C2SP signed-note spec example and the known answers of Go's
//! golang.org/x/mod/sumdb/note tests (keys, signatures, and the rules of Open).

use crate::tlog::keys::{KeyError, NoteSigner, NoteVerifier, SIG_ED25519, key_id};
use crate::tlog::note::{NoteError, NoteKey, SignedNote, open};

const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> NoteVerifier {
    NoteVerifier::from_vkey(PETER_VKEY).expect("Peter's vkey")
}

fn enoch() -> NoteVerifier {
    NoteVerifier::from_vkey(ENOCH_VKEY).expect("Enoch's vkey")
}

/// The example of https://c2sp.org/signed-note#verifier-keys.
#[test]
fn the_c2sp_spec_example_verifies() {
    let vkey = NoteVerifier::from_vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").expect("spec vkey");
    let msg = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let (note, v) = open(msg.as_bytes(), &[&vkey]).expect("spec example verifies");
    assert_eq!(note.text(), "This is an example message.\n");
    assert!(v.signed_by("example.com/foo", 0x530d903a));
    assert_eq!(note.to_text(), msg, "re-encoding is byte-identical");
    // One changed character in the text: the signature no longer verifies.
    let tampered = msg.replace("example message", "example massage");
    assert!(matches!(
        open(tampered.as_bytes(), &[&vkey]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

/// The spec's opening example has a key name with a '/', a text with an empty line and
/// non-ASCII characters: it parses, and the text is split at the last blank line.
#[test]
fn the_c2sp_spec_opening_example_parses() {
    let msg = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let note = SignedNote::parse(msg.as_bytes()).expect("parses");
    assert_eq!(
        note.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    );
    assert_eq!(note.signatures()[0].name, "quasimodo.example/salvatore");
    assert_eq!(note.signatures()[0].signature.len(), 64);
}

#[test]
fn go_signer_key_signs_exactly_like_go() {
    let signer = NoteSigner::from_private_key_text(PETER_SKEY).expect("Go's private key text");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier().vkey(), PETER_VKEY);
    assert_eq!(signer.private_key_text(), PETER_SKEY, "round trip");
    let mut note = SignedNote::new(TEXT).expect("text");
    note.sign(&signer).expect("sign");
    assert_eq!(note.to_text(), format!("{TEXT}\n{PETER_SIG}"));
    // Go's EnochRoot key is the all-zero seed (GenerateKey with a zero reader).
    let enoch_signer = NoteSigner::from_seed("EnochRoot", [0; 32]).expect("seed");
    assert_eq!(enoch_signer.verifier().vkey(), ENOCH_VKEY);
    note.sign(&enoch_signer).expect("second signature");
    assert_eq!(note.to_text(), format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}"));
    // Signing again with the same key replaces its line.
    note.sign(&signer).expect("re-sign");
    assert_eq!(note.to_text(), format!("{TEXT}\n{ENOCH_SIG}{PETER_SIG}"));
}

#[test]
fn open_follows_go_and_the_spec() {
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let (note, v) = open(msg.as_bytes(), &[&peter()]).expect("one known key");
    assert_eq!(note.text(), TEXT);
    assert_eq!((v.verified.len(), v.unknown.len()), (1, 1));
    assert_eq!(v.verified[0].key_id, 0xc74f20a3);
    let (_, v) = open(msg.as_bytes(), &[&peter(), &enoch()]).expect("both known");
    assert_eq!((v.verified.len(), v.unknown.len()), (2, 0));
    assert!(matches!(open(msg.as_bytes(), &[]), Err(NoteError::NoKnownSignature(names)) if names.contains("EnochRoot+af0cfe78")));

    // The same key configured twice is ambiguous only when it signed.
    let err = open(format!("{TEXT}\n{ENOCH_SIG}").as_bytes(), &[&enoch(), &peter(), &enoch()]).expect_err("ambiguous");
    assert_eq!(err.to_string(), "two configured keys share the name and key ID EnochRoot+af0cfe78");
    assert!(open(format!("{TEXT}\n{PETER_SIG}").as_bytes(), &[&enoch(), &peter(), &enoch()]).is_ok());

    // 100 signatures are fine, 101 are not.
    assert!(open(format!("{TEXT}\n{}", PETER_SIG.repeat(100)).as_bytes(), &[&peter()]).is_ok());
    assert_eq!(
        open(format!("{TEXT}\n{}", PETER_SIG.repeat(101)).as_bytes(), &[&peter()]),
        Err(NoteError::TooManySignatures)
    );

    // A known key's bad signature rejects the whole note.
    let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let err = open(bad.as_bytes(), &[&peter()]).expect_err("invalid signature");
    assert_eq!(err.to_string(), "signature by PeterNeumann+c74f20a3 does not verify");

    // Unknown keys are ignored even when broken, duplicates of unknown lines are dropped.
    let msg = format!(
        "{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{}ABCD{}",
        &ENOCH_SIG[..60],
        &ENOCH_SIG[60..]
    );
    let (_, v) = open(msg.as_bytes(), &[&peter()]).expect("unknown keys ignored");
    assert_eq!((v.verified.len(), v.unknown.len()), (1, 2));

    // A key sharing only the name, or only the ID, with the signer is not "known".
    let other = NoteSigner::from_seed("PeterNeumann", [7; 32]).expect("seed").verifier();
    assert!(matches!(
        open(format!("{TEXT}\n{PETER_SIG}").as_bytes(), &[&other]),
        Err(NoteError::NoKnownSignature(_))
    ));
}

#[test]
fn malformed_notes_are_refused_and_say_why() {
    let cases: Vec<(Vec<u8>, NoteError)> = vec![
        (TEXT.into(), NoteError::NoSignatureBlock),
        (format!("{TEXT}\n").into(), NoteError::NoSignatureBlock),
        (
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]).into(),
            NoteError::SignaturesWithoutNewline,
        ),
        (
            format!("\x01{TEXT}\n{PETER_SIG}").into(),
            NoteError::ControlCharacter { code: 1, offset: 0 },
        ),
        (
            format!("a\tb\n\n{PETER_SIG}").into(),
            NoteError::ControlCharacter { code: 9, offset: 1 },
        ),
        (
            [b"\xff".as_slice(), format!("{TEXT}\n{PETER_SIG}").as_bytes()].concat(),
            NoteError::NotUtf8(0),
        ),
        (
            format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
                .into(),
            NoteError::BadSignatureLine {
                line: 1,
                reason: "signature is not standard padded base64",
            },
        ),
        (
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n").into(),
            NoteError::BadSignatureLine {
                line: 2,
                reason: "does not start with an em dash and a space",
            },
        ),
        (
            format!("{TEXT}\n— PeterNeumann AAAAAA==\n").into(),
            NoteError::BadSignatureLine {
                line: 1,
                reason: "signature is shorter than a key ID and one byte",
            },
        ),
        (
            format!("{TEXT}\n— Peter+Neumann AAAAAAA=\n").into(),
            NoteError::BadSignatureLine {
                line: 1,
                reason: "key name is empty or has spaces, '+' or control characters",
            },
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(
            SignedNote::parse(&msg).err(),
            Some(want.clone()),
            "{}",
            String::from_utf8_lossy(&msg)
        );
    }
    assert_eq!(SignedNote::new("no newline"), Err(NoteError::TextWithoutNewline));
}

/// As in Go's TestNewVerifier: every proper substring and every one-byte change of a vkey is refused.
#[test]
fn mangled_vkeys_are_refused() {
    assert_eq!(
        peter().key_id(),
        key_id("PeterNeumann", SIG_ED25519, peter().public_key().as_bytes())
    );
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if (i, j) != (0, b.len()) {
                let s = String::from_utf8_lossy(&b[i..j]);
                assert!(NoteVerifier::from_vkey(&s).is_err(), "accepted {s:?}");
            }
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] = m[i].wrapping_add(1);
        let s = String::from_utf8_lossy(&m);
        assert!(NoteVerifier::from_vkey(&s).is_err(), "accepted {s:?}");
    }
    // Go's two extra cases: a wrong-length key and an unknown algorithm, each with a matching key ID.
    // (Go decodes the first to 36 bytes and refuses the length; our base64 decoder already
    // refuses its non-zero trailing bits.)
    assert_eq!(
        NoteVerifier::from_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
        Err(KeyError::Base64)
    );
    assert_eq!(
        NoteVerifier::from_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEQ=="),
        Err(KeyError::Length(36))
    );
    assert!(matches!(
        NoteVerifier::from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::Type(0x65, _))
    ));
}

#[test]
fn private_key_texts_are_checked() {
    assert!(matches!(NoteSigner::from_private_key_text(PETER_VKEY), Err(KeyError::Shape { .. })));
    let wrong_id = PETER_SKEY.replace("c74f20a3", "c74f20a4");
    assert_eq!(
        NoteSigner::from_private_key_text(&wrong_id).err(),
        Some(KeyError::IdMismatch {
            stated: 0xc74f20a4,
            computed: 0xc74f20a3
        })
    );
    let renamed = PETER_SKEY.replace("PeterNeumann", "PeterNewman");
    assert!(matches!(
        NoteSigner::from_private_key_text(&renamed),
        Err(KeyError::IdMismatch { .. })
    ));
    assert!(matches!(
        NoteSigner::from_private_key_text("PRIVATE+KEY+a b+00000000+AA=="),
        Err(KeyError::Name(_))
    ));
    // Trailing newline from a key file is fine.
    assert!(NoteSigner::from_private_key_text(&format!("{PETER_SKEY}\n")).is_ok());
    let generated = NoteSigner::generate("claimledger.example/log").expect("generate");
    let reloaded = NoteSigner::from_private_key_text(&generated.private_key_text()).expect("reload");
    assert_eq!(reloaded.verifier(), generated.verifier());
    assert_ne!(
        NoteSigner::generate("x").expect("gen").verifier(),
        NoteSigner::generate("x").expect("gen").verifier()
    );
    assert!(!format!("{generated:?}").contains("PRIVATE"), "Debug must not print the secret");
}

#[test]
fn signatures_are_checked_against_the_text_only() {
    let signer = NoteSigner::from_private_key_text(PETER_SKEY).expect("key");
    let sig = signer.sign(TEXT.as_bytes());
    assert!(NoteKey::verify(&peter(), TEXT.as_bytes(), &sig));
    assert!(!NoteKey::verify(&peter(), b"other\n", &sig));
    assert!(!NoteKey::verify(&peter(), TEXT.as_bytes(), &sig[..63]));
}
