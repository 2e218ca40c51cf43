use super::*;
use proptest::prelude::*;

const OBSERVED: &[u8] = b"3 V1795877873 N3 G10c0212851ee0a6b6056000083ecc375\n\
1 :1795878481.M681912P22112.vm,S=43,W=47\n\
2 :1795878481.M697005P22112.vm,S=43,W=47\n\
3 :1795878481.M713573P22112.vm,S=43,W=47\n";

fn read(data: &[u8]) -> Result<UidList, UidListError> {
    let mut list = UidList::new(InfoSeparator::DOVECOT);
    list.read_full(data).map(|_| list)
}

fn corruption(data: &[u8]) -> (usize, Corruption) {
    let e = read(data).unwrap_err();
    (e.line, e.corruption)
}

#[test]
fn reads_what_dovecot_wrote() {
    let list = read(OBSERVED).unwrap();
    let h = list.header().unwrap();
    assert_eq!((h.version, h.uid_validity, h.next_uid), (3, 1795877873, 3));
    assert_eq!(
        guid_hex(&h.guid.unwrap()),
        "10c0212851ee0a6b6056000083ecc375"
    );
    assert_eq!(list.records().len(), 3);
    // N3 but UID 3 exists: the next UID is 4
    assert_eq!(list.next_uid(), 4);
    assert_eq!(
        list.uid_of(b"1795878481.M697005P22112.vm,S=43,W=47:2,S"),
        Some(2)
    );
    assert_eq!(list.rewrite_reason(), None);
    // written back byte for byte (N is the real next UID)
    let mut again = list.clone();
    again.mark_rewritten();
    assert_eq!(
        String::from_utf8(list.full_bytes()).unwrap(),
        String::from_utf8(OBSERVED.to_vec())
            .unwrap()
            .replace("N3 ", "N4 ")
    );
}

#[test]
fn extensions_and_old_names() {
    let data = b"3 V5 N10 G10c0212851ee0a6b6056000083ecc375 Pfoo Xbar\n\
        4 W1234 S1200 GabC :a.M1P2.h:2,S\n\
        7 :b.M1P2.h\n";
    let list = read(data).unwrap();
    let h = list.header().unwrap();
    assert_eq!(
        h.extensions,
        vec![(b'P', "foo".to_string()), (b'X', "bar".to_string())]
    );
    let r = list.get(4).unwrap();
    assert_eq!(r.extension(b'W'), Some(&b"1234"[..]));
    assert_eq!(r.extension(b'G'), Some(&b"abC"[..]));
    assert_eq!(r.filename, b"a.M1P2.h:2,S");
    assert_eq!(list.uid_of(b"a.M1P2.h"), Some(4));
    assert_eq!(list.next_uid(), 10);
    let out = String::from_utf8(list.full_bytes()).unwrap();
    assert_eq!(
        out,
        "3 V5 N10 G10c0212851ee0a6b6056000083ecc375 Pfoo Xbar\n\
         4 W1234 S1200 GabC :a.M1P2.h\n7 :b.M1P2.h\n"
    );
}

#[test]
fn version_1() {
    let list = read(b"1 1234 5\n1 a.M1P1.h:2,S\n3 b\n").unwrap();
    assert_eq!((list.uid_validity(), list.next_uid()), (1234, 5));
    assert_eq!(list.uid_of(b"a.M1P1.h"), Some(1));
    assert_eq!(list.rewrite_reason(), Some(RewriteReason::OldVersion));
    assert_eq!(
        corruption(b"1 1234 3\n3 x\n").1,
        Corruption::UidLargerThanNextUid {
            uid: 3,
            next_uid: 3
        }
    );
    assert_eq!(corruption(b"1 1234\n").1, Corruption::Version1Header);
}

#[test]
fn every_corruption_is_reported() {
    let g = "G10c0212851ee0a6b6056000083ecc375";
    let cases: Vec<(String, usize, Corruption)> = vec![
        ("".into(), 1, Corruption::Empty),
        ("3 V1 N1".into(), 1, Corruption::Empty), // no complete line
        ("x V1 N1\n".into(), 1, Corruption::InvalidVersionNumber),
        ("3\n".into(), 1, Corruption::InvalidVersionNumber),
        ("2 V1 N1\n".into(), 1, Corruption::UnsupportedVersion(2)),
        (
            "3 Vx N1\n".into(),
            1,
            Corruption::InvalidUidValidity("x".into()),
        ),
        (
            "3 V1 N-1\n".into(),
            1,
            Corruption::InvalidNextUid("-1".into()),
        ),
        (
            "3 V1 N1 Gxyz\n".into(),
            1,
            Corruption::InvalidGuid("xyz".into()),
        ),
        (
            "3 V0 N1\n".into(),
            1,
            Corruption::BrokenHeader {
                uid_validity: 0,
                next_uid: 1,
            },
        ),
        (
            "3 V1\n".into(),
            1,
            Corruption::BrokenHeader {
                uid_validity: 1,
                next_uid: 0,
            },
        ),
        (
            format!("3 V1 N1 {g}\n0 :a\n"),
            2,
            Corruption::InvalidData(" :a".into()),
        ),
        (
            format!("3 V1 N1 {g}\n1:a\n"),
            2,
            Corruption::InvalidData(":a".into()),
        ),
        (
            format!("3 V1 N1 {g}\nabc\n"),
            2,
            Corruption::InvalidData("abc".into()),
        ),
        (
            format!("3 V1 N1 {g}\n2 :a\n2 :b\n"),
            3,
            Corruption::UidsNotOrdered { uid: 2, prev: 2 },
        ),
        (
            format!("3 V1 N1 {g}\n5 :a\n3 :b\n"),
            3,
            Corruption::UidsNotOrdered { uid: 3, prev: 5 },
        ),
        (
            format!("3 V1 N1 {g}\n4294967295 :a\n"),
            2,
            Corruption::UidTooHigh(4294967295),
        ),
        (
            format!("3 V1 N1 {g}\n99999999999 :a\n"),
            2,
            Corruption::UidTooHigh(99999999999),
        ),
        (
            format!("3 V1 N1 {g}\n1 S12\n"),
            2,
            Corruption::InvalidExtendedFields(String::new()),
        ),
        (
            format!("3 V1 N1 {g}\n1 :\n"),
            2,
            Corruption::InvalidExtendedFields(String::new()),
        ),
        (
            format!("3 V1 N1 {g}\n1 :a/b\n"),
            2,
            Corruption::BrokenFilename("a/b".into()),
        ),
    ];
    for (data, line, want) in cases {
        assert_eq!(corruption(data.as_bytes()), (line, want), "{data:?}");
    }
}

#[test]
fn repairs_are_warnings() {
    let g = "G10c0212851ee0a6b6056000083ecc375";
    let mut list = UidList::new(InfoSeparator::DOVECOT);
    let report = list
        .read_full(format!("3 V1 N1 {g}\n1 s5 W7 :a\n2 :b\n3 :a\n").as_bytes())
        .unwrap();
    assert_eq!(
        report.warnings,
        vec![
            ReadWarning::InvalidExtensionRemoved {
                line: 2,
                field: "s5".into()
            },
            ReadWarning::DuplicateFile {
                line: 4,
                filename: "a".into(),
                old_uid: 1,
                new_uid: 3
            },
        ]
    );
    assert_eq!(list.get(1), None);
    assert_eq!(list.uid_of(b"a"), Some(3));
    assert_eq!(list.get(3).unwrap().extensions, vec![]);
    assert_eq!(list.rewrite_reason(), Some(RewriteReason::Repair));
    // no GUID: rewrite to add one
    let list = read(b"3 V1 N1\n1 :a\n").unwrap();
    assert_eq!(list.rewrite_reason(), Some(RewriteReason::NoGuid));
    // CRLF and a NUL end lines as in Dovecot's C strings
    let list = read(format!("3 V1 N1 {g}\r\n1 :a\0junk\r\n").as_bytes()).unwrap();
    assert_eq!(list.get(1).unwrap().filename, b"a");
}

#[test]
fn incremental_reads() {
    let g = "G10c0212851ee0a6b6056000083ecc375";
    let first = format!("3 V9 N1 {g}\n1 :a\n2 :b\n3 :c");
    let mut list = UidList::new(InfoSeparator::DOVECOT);
    let report = list.read_full(first.as_bytes()).unwrap();
    // the torn last line is not visible yet
    assert_eq!(list.records().len(), 2);
    assert_eq!(
        &first[..report.read_offset],
        format!("3 V9 N1 {g}\n1 :a\n2 :b\n")
    );
    let rest = "3 :c\n4 :d\n";
    let report = list.read_appended(rest.as_bytes(), 4).unwrap();
    assert_eq!(report.read_offset, rest.len());
    assert_eq!(
        list.records().iter().map(|r| r.uid).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(list.next_uid(), 5);
    // lines already known are skipped; a bad appended line changes nothing
    let before = list.records().to_vec();
    let e = list.read_appended(b"5 :e\n5 :f\n", 6).unwrap_err();
    assert_eq!(
        (e.line, e.corruption),
        (7, Corruption::UidsNotOrdered { uid: 5, prev: 5 })
    );
    assert_eq!(list.records(), &before[..]);
    // a rewritten file with the same UIDVALIDITY and a lower N is broken
    let mut list = UidList::new(InfoSeparator::DOVECOT);
    list.read_full(format!("3 V9 N5 {g}\n").as_bytes()).unwrap();
    let e = list
        .read_full(format!("3 V9 N3 {g}\n").as_bytes())
        .unwrap_err();
    assert_eq!(
        e.corruption,
        Corruption::NextUidHeaderLowered { old: 5, new: 3 }
    );
}

#[test]
fn next_uid_never_goes_down() {
    let g = "G10c0212851ee0a6b6056000083ecc375";
    let mut list = UidList::new(InfoSeparator::DOVECOT);
    list.read_full(format!("3 V9 N20 {g}\n1 :a\n").as_bytes())
        .unwrap();
    assert_eq!(list.next_uid(), 20);
    // a file with another UIDVALIDITY is a recreated mailbox: its UIDs start over
    list.read_full(format!("3 V10 N5 {g}\n").as_bytes())
        .unwrap();
    assert_eq!(list.next_uid(), 5);
    assert_eq!(list.rewrite_reason(), Some(RewriteReason::Repair));
    // an appended read never lowers next_uid
    let mut list = UidList::new(InfoSeparator::DOVECOT);
    list.read_full(format!("3 V9 N20 {g}\n").as_bytes())
        .unwrap();
    list.read_appended(b"3 :x\n", 2).unwrap();
    assert_eq!(list.next_uid(), 20);
}

#[test]
fn assigning_and_writing() {
    let mut list = UidList::create(InfoSeparator::DOVECOT, 1700000000, [0xab; 16]);
    let added = list
        .assign_uids(vec![
            b"1700000001.M2P1.h,S=5,W=6:2,S".to_vec(),
            b"1700000001.M10P1.h,S=5,W=6".to_vec(),
            b"1700000000.M99P1.h".to_vec(),
            b"1700000001.M2P1.h,S=5,W=6".to_vec(), // same message from new/
        ])
        .unwrap();
    let names: Vec<_> = added
        .iter()
        .map(|r| (r.uid, String::from_utf8(r.filename.clone()).unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            (1, "1700000000.M99P1.h".to_string()),
            (2, "1700000001.M2P1.h,S=5,W=6".to_string()),
            (3, "1700000001.M10P1.h,S=5,W=6".to_string()),
        ]
    );
    assert!(list
        .assign_uids(vec![b"1700000000.M99P1.h:2,T".to_vec()])
        .unwrap()
        .is_empty());
    assert_eq!(
        String::from_utf8(list.append_bytes(&added[1..])).unwrap(),
        "2 :1700000001.M2P1.h,S=5,W=6\n3 :1700000001.M10P1.h,S=5,W=6\n"
    );
    let full = list.full_bytes();
    let mut reread = UidList::new(InfoSeparator::DOVECOT);
    reread.read_full(&full).unwrap();
    assert_eq!(reread.records(), list.records());
    assert_eq!(reread.next_uid(), 4);
    assert_eq!(guid_hex(&reread.guid().unwrap()), "ab".repeat(16));
}

#[test]
fn compress_rule() {
    let mut list = UidList::create(InfoSeparator::DOVECOT, 1, [1; 16]);
    let names: Vec<Vec<u8>> = (0..8).map(|i| format!("{i}.M1P1.h").into_bytes()).collect();
    list.assign_uids(names).unwrap();
    list.mark_rewritten();
    assert!(!list.wants_compress(0));
    list.remove(1);
    assert!(!list.wants_compress(0)); // 7 of 8 live: 8*75/100 = 6 < 7
    list.remove(2);
    assert!(list.wants_compress(0)); // 6 of 8 live
    assert!(list.remove(2).is_none());
    assert!(list.uid_of(b"0.M1P1.h").is_none());
}

proptest! {
    #[test]
    fn round_trip(validity in 1u32..u32::MAX, count in 0usize..20, gaps in proptest::collection::vec(1u32..5, 20),
                  exts in proptest::collection::vec(proptest::option::of(0u32..100000), 20)) {
        let mut list = UidList::create(InfoSeparator::DOVECOT, validity, [7; 16]);
        let names: Vec<Vec<u8>> = (0..count).map(|i| format!("{}.M{i}P9.host,S={i}", 1_700_000_000 + i).into_bytes()).collect();
        list.assign_uids(names).unwrap();
        for (i, rec) in list.records().to_vec().iter().enumerate() {
            if let Some(v) = exts[i] {
                list.set_extension(rec.uid, b'W', Some(v.to_string().as_bytes()));
            }
            if gaps[i] == 1 {
                list.remove(rec.uid);
            }
        }
        let bytes = list.full_bytes();
        let mut reread = UidList::new(InfoSeparator::DOVECOT);
        reread.read_full(&bytes).unwrap();
        prop_assert_eq!(reread.records(), list.records());
        prop_assert_eq!(reread.uid_validity(), validity);
        prop_assert_eq!(reread.next_uid(), list.next_uid());
        prop_assert_eq!(reread.full_bytes(), bytes);
    }

    #[test]
    fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut list = UidList::new(InfoSeparator::DOVECOT);
        let _ = list.read_full(&data);
        let _ = list.read_appended(&data, 2);
    }

    #[test]
    fn mutated_files_never_panic(flip in 0usize..200, byte in any::<u8>()) {
        let mut data = OBSERVED.to_vec();
        let i = flip % data.len();
        data[i] = byte;
        let mut list = UidList::new(InfoSeparator::DOVECOT);
        if list.read_full(&data).is_ok() {
            // whatever was accepted is strictly ordered
            prop_assert!(list.records().windows(2).all(|w| w[0].uid < w[1].uid));
        }
    }
}

#[test]
fn a_space_where_a_header_key_belongs_is_read_like_dovecot() {
    // Found by mutated_files_never_panic (flip 176, byte 32): the key is a space
    // and "V1" its value, so there is no UIDVALIDITY.
    let mut list = UidList::new(InfoSeparator::DOVECOT);
    assert!(list.read_full(b"3  V1 N2\n").is_err());
    assert!(list.read_full(b"3 V1 N2  \n").is_ok());
    assert!(list.read_full(b"3  \n").is_err());
}
