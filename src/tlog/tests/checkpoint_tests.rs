//! Checkpoints, v1 cosignatures and tlog-proof files.

use crate::tlog::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, open_checkpoint};
use crate::tlog::cosignature::{CosignatureError, CosignatureVerifier, Cosigner, cosigned_message, timestamp_of};
use crate::tlog::hash::{EMPTY_ROOT, Hash, leaf_hash};
use crate::tlog::keys::{KeyError, NoteSigner, NoteVerifier};
use crate::tlog::memory::MemoryTree;
use crate::tlog::merkle::inclusion_proof;
use crate::tlog::note::{NoteError, NoteKey, SignedNote};
use crate::tlog::proof_file::{ProofFileError, TlogProof};

const ORIGIN: &str = "claimledger.example/log";

fn log_key() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [1; 32]).expect("log key")
}

fn witness(n: u8) -> Cosigner {
    Cosigner::new(&NoteSigner::from_seed(&format!("witness{n}.example"), [10 + n; 32]).expect("witness key"))
}

/// The example of https://c2sp.org/tlog-checkpoint and its cosigned form in tlog-cosignature.
#[test]
fn the_spec_examples_parse() {
    let msg = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
               — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
               — witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let signed = SignedCheckpoint::parse(msg.as_bytes()).expect("spec example");
    let cp = &signed.checkpoint;
    assert_eq!((cp.origin(), cp.size()), ("example.com/behind-the-sofa", 20852163));
    assert_eq!(cp.root().to_base64(), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    assert_eq!(cp.to_text(), signed.note.text());
    let cosig = &signed.note.signatures()[1];
    assert_eq!(cosig.signature.len(), 72, "timestamp ‖ Ed25519 signature");
    // The spec's cosigned message example is at time 1679315147 (this example's own timestamp differs).
    assert_eq!(timestamp_of(&cosig.signature), Some(1679315147));
    assert_eq!(
        String::from_utf8(cosigned_message(cp.to_text().as_str(), 1679315147)).expect("utf-8"),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}

#[test]
fn checkpoint_text_rules() {
    let root = leaf_hash(b"r");
    let cp = Checkpoint::new(ORIGIN, 42, root).expect("new");
    assert_eq!(cp.to_text(), format!("{ORIGIN}\n42\n{}\n", root.to_base64()));
    assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp.clone()));
    let ext = cp.clone().with_extension("— ext line").expect("extension");
    assert_eq!(
        Checkpoint::parse(&ext.to_text()).expect("parse").extensions(),
        ["— ext line".to_string()]
    );
    let b64 = root.to_base64();
    for (text, want) in [
        (format!("{ORIGIN}\n42\n{b64}"), CheckpointError::NoFinalNewline),
        (format!("{ORIGIN}\n42\n"), CheckpointError::TooFewLines(2)),
        (format!("{ORIGIN}\n042\n{b64}\n"), CheckpointError::Size("042".into())),
        (format!("{ORIGIN}\n+42\n{b64}\n"), CheckpointError::Size("+42".into())),
        (
            format!("{ORIGIN}\n18446744073709551616\n{b64}\n"),
            CheckpointError::Size("18446744073709551616".into()),
        ),
        (format!("{ORIGIN}\n42\n{b64}\n\nx\n"), CheckpointError::EmptyLine(4)),
        (format!("\n42\n{b64}\n"), CheckpointError::EmptyLine(1)),
    ] {
        assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
    }
    assert!(matches!(
        Checkpoint::parse(&format!("{ORIGIN}\n42\nAAAA\n")),
        Err(CheckpointError::Root(_))
    ));
    assert_eq!(
        Checkpoint::parse(&format!("{ORIGIN}\n0\n{}\n", EMPTY_ROOT.to_base64()))
            .expect("empty")
            .size(),
        0
    );
    assert!(matches!(Checkpoint::new("has space", 1, root), Err(CheckpointError::Origin(_))));
}

#[test]
fn signed_checkpoints_open_only_for_their_origin_and_key() {
    let key = log_key();
    let note = Checkpoint::new(ORIGIN, 7, leaf_hash(b"7"))
        .expect("cp")
        .sign(&key)
        .expect("sign")
        .to_text();
    let v = key.verifier();
    let (signed, verified) = open_checkpoint(note.as_bytes(), ORIGIN, &[&v]).expect("opens");
    assert_eq!(signed.checkpoint.size(), 7);
    assert!(verified.signed_by(ORIGIN, v.key_id()));
    assert!(matches!(
        open_checkpoint(note.as_bytes(), "other.example/log", &[&v]),
        Err(CheckpointError::WrongOrigin { .. })
    ));
    let stranger = NoteSigner::from_seed(ORIGIN, [2; 32]).expect("key").verifier();
    assert!(matches!(
        open_checkpoint(note.as_bytes(), ORIGIN, &[&stranger]),
        Err(CheckpointError::Note(NoteError::NoKnownSignature(_)))
    ));
    let tampered = note.replacen("\n7\n", "\n8\n", 1);
    assert!(matches!(
        open_checkpoint(tampered.as_bytes(), ORIGIN, &[&v]),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));
}

#[test]
fn cosignatures_verify_with_the_type_4_key_only() {
    let w = witness(1);
    let v = w.verifier();
    assert_ne!(
        v.key_id(),
        NoteSigner::from_seed("witness1.example", [11; 32]).expect("k").key_id(),
        "0x04 ID differs from 0x01 ID"
    );
    let vkey = v.vkey();
    assert!(vkey.starts_with("witness1.example+"));
    assert_eq!(CosignatureVerifier::from_vkey(&vkey), Ok(v.clone()));
    assert!(matches!(NoteVerifier::from_vkey(&vkey), Err(KeyError::Type(0x04, _))));
    assert!(matches!(
        CosignatureVerifier::from_vkey(&log_key().verifier().vkey()),
        Err(KeyError::Type(0x01, _))
    ));

    let mut note = Checkpoint::new(ORIGIN, 9, leaf_hash(b"9"))
        .expect("cp")
        .sign(&log_key())
        .expect("sign");
    let line = w.cosign(note.text(), 1_700_000_000).expect("cosign");
    assert_eq!(timestamp_of(&line.signature), Some(1_700_000_000));
    assert_eq!(v.verified_timestamp(note.text(), &line), Some(1_700_000_000));
    note.add_signature(line.clone()).expect("add");
    let log_v = log_key().verifier();
    let verified = note.verify(&[&log_v, &v]).expect("log + witness");
    assert_eq!(verified.verified.len(), 2);

    // The timestamp is signed: changing it breaks the cosignature.
    let mut moved = line.clone();
    moved.signature[7] ^= 1;
    assert!(!NoteKey::verify(&v, note.text().as_bytes(), &moved.signature));
    assert_eq!(v.verified_timestamp(note.text(), &moved), None);
    // A cosignature is not a plain note signature over the same text.
    assert!(!NoteKey::verify(
        &v,
        note.text().as_bytes(),
        &w.cosign("other\n", 1).expect("c").signature
    ));
    assert_eq!(w.cosign(note.text(), 0), Err(CosignatureError::Timestamp(0)));
    assert_eq!(w.cosign(note.text(), 1 << 63), Err(CosignatureError::Timestamp(1 << 63)));
}

fn proof_for(tree: &MemoryTree, index: u64, witnesses: &[Cosigner]) -> TlogProof {
    let cp = Checkpoint::new(ORIGIN, tree.size(), tree.root()).expect("cp");
    let mut note: SignedNote = cp.sign(&log_key()).expect("sign");
    for w in witnesses {
        note.add_signature(
            w.cosign(note.text(), 1_700_000_000 + u64::from(note.signatures().len() as u32))
                .expect("cosign"),
        )
        .expect("add");
    }
    TlogProof {
        extra: None,
        index,
        inclusion: inclusion_proof(index, tree.size(), tree).expect("proof"),
        checkpoint_note: note.to_text(),
    }
}

#[test]
fn tlog_proof_files_round_trip_and_verify() {
    let entries: Vec<[u8; 32]> = (0..1000u32).map(|i| leaf_hash(&i.to_be_bytes()).0).collect();
    let mut tree = MemoryTree::new();
    let mut delta = crate::tlog::TileDelta::new();
    let mut f = crate::tlog::Frontier::empty();
    f.append_data(entries.iter().map(|e| e.as_slice()), &mut delta);
    tree.apply(&delta).expect("apply");
    let (w1, w2) = (witness(1), witness(2));
    let proof = proof_for(&tree, 417, &[w1.clone(), w2.clone()]);
    let text = proof.to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 417\n"), "{text}");
    assert_eq!(TlogProof::parse(&text), Ok(proof.clone()));
    let with_extra = TlogProof {
        extra: Some(b"seq 418".to_vec()),
        ..proof.clone()
    };
    let t = with_extra.to_text();
    assert!(t.starts_with("c2sp.org/tlog-proof@v1\nextra c2VxIDQxOA==\nindex 417\n"), "{t}");
    assert_eq!(TlogProof::parse(&t), Ok(with_extra));

    let logs = [log_key().verifier()];
    let ws = [w1.verifier(), w2.verifier(), witness(3).verifier()];
    let leaf = leaf_hash(&entries[417]);
    let ok = proof.verify(&leaf, ORIGIN, &logs, &ws, 2).expect("verifies");
    assert_eq!(ok.checkpoint.size(), 1000);
    assert_eq!(
        ok.cosigners.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["witness1.example", "witness2.example"]
    );

    assert_eq!(
        proof.verify(&leaf, ORIGIN, &logs, &ws, 3),
        Err(ProofFileError::Quorum { got: 2, want: 3 })
    );
    assert!(matches!(
        proof.verify(&leaf_hash(&entries[418]), ORIGIN, &logs, &ws, 0),
        Err(ProofFileError::Inclusion(_))
    ));
    assert!(matches!(
        proof.verify(&leaf, "evil.example/log", &logs, &ws, 0),
        Err(ProofFileError::Checkpoint(_))
    ));
    let stranger = [NoteSigner::from_seed(ORIGIN, [3; 32]).expect("k").verifier()];
    assert_eq!(
        proof.verify(&leaf, ORIGIN, &stranger, &ws, 0),
        Err(ProofFileError::NotSignedByLog(ORIGIN.into()))
    );
    // Witnesses alone do not make a log signature.
    assert_eq!(
        proof.verify(&leaf, ORIGIN, &[], &ws, 0),
        Err(ProofFileError::NotSignedByLog(ORIGIN.into()))
    );
    let moved = TlogProof {
        index: 416,
        ..proof.clone()
    };
    assert!(moved.verify(&leaf, ORIGIN, &logs, &ws, 0).is_err());
}

#[test]
fn malformed_tlog_proofs_are_refused() {
    let mut tree = MemoryTree::new();
    tree.extend(&[leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]);
    let good = proof_for(&tree, 1, &[]).to_text();
    let cases = [
        (
            good.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            ProofFileError::Header,
        ),
        (good.replacen("index 1", "index 01", 1), ProofFileError::Index(2)),
        (good.replacen("index 1", "extra !!\nindex 1", 1), ProofFileError::Extra),
        (good.replacen("index 1\n", "index 1\nAAAA\n", 1), ProofFileError::HashLine(3)),
        (
            good.split("\n\n").next().unwrap_or_default().to_string(),
            ProofFileError::NoCheckpoint,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(TlogProof::parse(&text), Err(want), "{text}");
    }
    let too_many = good.replacen(
        "index 1\n",
        &format!("index 1\n{}", format!("{}\n", Hash::default().to_base64()).repeat(65)),
        1,
    );
    assert_eq!(TlogProof::parse(&too_many), Err(ProofFileError::TooManyHashes));
    assert!(matches!(
        TlogProof::parse(&good.replacen("\n3\n", "\nthree\n", 1)),
        Err(ProofFileError::Checkpoint(_))
    ));
}
