use super::*;
use proptest::prelude::*;

struct Setup {
    _dir: tempfile::TempDir,
    mbox: PathBuf,
    journal: RewriteJournal,
}

fn setup(content: &[u8]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("box");
    std::fs::write(&mbox, content).unwrap();
    let journal = RewriteJournal::new(
        &dir.path().join(".imap/box"),
        &FsPolicy::dovecot_defaults(),
        &CreatePerms::default(),
    );
    Setup {
        _dir: dir,
        mbox,
        journal,
    }
}

/// The file as a crash left it at `phase` of `plan` over `old` (see the module docs),
/// `done` bytes of the copy written, then `foreign` appended by another program.
fn crashed(
    s: &Setup,
    old: &[u8],
    plan: &TailRewrite,
    phase: Phase,
    done: usize,
    foreign: &[u8],
    truncated: bool,
) {
    std::fs::create_dir_all(&s.journal.dir).unwrap();
    std::fs::write(s.journal.data_path(), &plan.bytes).unwrap();
    std::fs::write(s.journal.journal_path(), phase.encode()).unwrap();
    let mut file = old.to_vec();
    let new_len = plan.new_len() as usize;
    if let Phase::Copy { zeroed_to, .. } = phase {
        file.resize(file.len().max(new_len), 0);
        for b in &mut file[new_len..zeroed_to as usize] {
            *b = 0;
        }
        let at = plan.offset as usize;
        file[at..at + done].copy_from_slice(&plan.bytes[..done]);
        if done == plan.bytes.len() && truncated {
            file.truncate(new_len);
        }
    }
    file.extend_from_slice(foreign);
    std::fs::write(&s.mbox, file).unwrap();
}

fn recover(s: &Setup) -> Vec<u8> {
    let file = FsFile::open_rw(&s.mbox).unwrap();
    assert!(s.journal.recover(&file).unwrap());
    assert!(!s.journal.is_pending().unwrap());
    assert!(!s.journal.data_path().exists());
    std::fs::read(&s.mbox).unwrap()
}

fn expected(old: &[u8], plan: &TailRewrite, foreign: &[u8]) -> Vec<u8> {
    let mut out = old[..plan.offset as usize].to_vec();
    out.extend_from_slice(&plan.bytes);
    out.extend_from_slice(foreign);
    out
}

const OLD: &[u8] = b"From a@b Thu Nov 29 22:33:52 2001\nSubject: 1\n\none\n\n\
From a@b Thu Nov 29 22:33:52 2001\nSubject: 2\n\ntwo\n\n\
From a@b Thu Nov 29 22:33:52 2001\nSubject: 3\n\nthree\n";
const FOREIGN: &[u8] = b"\nFrom mta@x Thu Nov 29 22:33:53 2001\nSubject: 4\n\nfour\n";

#[test]
fn applies_a_shrinking_and_a_growing_plan() {
    for bytes in [
        &b"From x@y Thu Nov 29 22:33:52 2001\n\nz\n"[..],
        &[b'q'; 400][..],
    ] {
        let s = setup(OLD);
        let plan = TailRewrite {
            offset: 50,
            bytes: bytes.to_vec(),
        };
        let file = FsFile::open_rw(&s.mbox).unwrap();
        s.journal.apply(&file, &plan).unwrap();
        assert!(!s.journal.is_pending().unwrap());
        assert_eq!(std::fs::read(&s.mbox).unwrap(), expected(OLD, &plan, b""));
    }
}

#[test]
fn no_journal_nothing_to_do() {
    let s = setup(OLD);
    let file = FsFile::open_rw(&s.mbox).unwrap();
    assert!(!s.journal.recover(&file).unwrap());
    assert_eq!(std::fs::read(&s.mbox).unwrap(), OLD);
}

#[test]
fn a_damaged_journal_is_an_error_and_leaves_the_file_alone() {
    let s = setup(OLD);
    std::fs::create_dir_all(&s.journal.dir).unwrap();
    std::fs::write(s.journal.data_path(), b"abc").unwrap();
    for journal in [
        &b"garbage"[..],
        b"cote-mbox-rewrite 1\nstart 18446744073709551615 0 2\n",
        b"cote-mbox-rewrite 1\ncopy 0 3 1\n",
        b"cote-mbox-rewrite 1\nstart 0 10 99\n",
    ] {
        std::fs::write(s.journal.journal_path(), journal).unwrap();
        let file = FsFile::open_rw(&s.mbox).unwrap();
        assert!(s.journal.recover(&file).is_err());
        assert_eq!(std::fs::read(&s.mbox).unwrap(), OLD);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever phase a crash stopped a plan in, and whatever another program appended
    /// afterwards, recovery ends with the planned file followed by that mail.
    #[test]
    fn recovery_rolls_forward_and_keeps_foreign_mail(
        offset in 0usize..OLD.len(),
        new_tail in proptest::collection::vec(prop_oneof![Just(b'x'), Just(b'\n')], 0..200),
        copy_phase in any::<bool>(),
        extended in any::<bool>(),
        done_frac in 0usize..=100,
        with_foreign in any::<bool>(),
        truncated in any::<bool>(),
    ) {
        let plan = TailRewrite { offset: offset as u64, bytes: new_tail.clone() };
        let (old_len, new_len) = (OLD.len() as u64, plan.new_len());
        let foreign = if with_foreign { FOREIGN } else { b"" };
        let s = setup(OLD);
        if copy_phase {
            let done = new_tail.len() * done_frac / 100;
            let phase = Phase::Copy { offset: offset as u64, new_len, zeroed_to: old_len.max(new_len) };
            crashed(&s, OLD, &plan, phase, done, foreign, truncated);
        } else {
            let phase = Phase::Start { offset: offset as u64, old_len, new_len };
            std::fs::create_dir_all(&s.journal.dir).unwrap();
            std::fs::write(s.journal.data_path(), &plan.bytes).unwrap();
            std::fs::write(s.journal.journal_path(), phase.encode()).unwrap();
            let mut file = OLD.to_vec();
            if new_len > old_len && extended {
                file.resize(new_len as usize, 0);
            } else if new_len < old_len && extended {
                // zeroing started
                for b in &mut file[new_len as usize..] { *b = 0; }
            }
            file.extend_from_slice(foreign);
            std::fs::write(&s.mbox, file).unwrap();
        }
        prop_assert_eq!(recover(&s), expected(OLD, &plan, foreign));
    }
}

/// A plan pending over a file another program then rewrote (mutt) is not rolled forward
/// over its work: the file stays as that program left it, the plan is kept aside.
#[test]
fn a_file_rewritten_by_another_program_is_not_overwritten() {
    let old = b"From a@b Thu Nov 29 22:33:52 2001\nSubject: one\n\nbody one\n\nFrom a@b Thu Nov 29 22:33:52 2001\nSubject: two\n\nbody two\n".to_vec();
    let s = setup(&old);
    let plan = TailRewrite {
        offset: 58,
        bytes: b"From a@b Thu Nov 29 22:33:52 2001\nSubject: new\n\nx\n".to_vec(),
    };
    let file = FsFile::open_rw(&s.mbox).unwrap();
    std::fs::create_dir_all(&s.journal.dir).unwrap();
    std::fs::write(s.journal.data_path(), &plan.bytes).unwrap();
    let check = FileCheck::of(&file, plan.offset).unwrap();
    let phase = Phase::Start {
        offset: plan.offset,
        old_len: old.len() as u64,
        new_len: plan.new_len(),
    };
    s.journal.write_phase(phase, &check).unwrap();
    // mutt rewrites the file in place (same inode), the first message changed
    let mutt =
        b"From a@b Thu Nov 29 22:33:52 2001\nSubject: ONE\nStatus: RO\n\nbody one\n\n".to_vec();
    std::fs::write(&s.mbox, &mutt).unwrap();
    assert!(s.journal.recover(&file).unwrap());
    assert!(!s.journal.is_pending().unwrap());
    assert_eq!(std::fs::read(&s.mbox).unwrap(), mutt);
    let aside: Vec<String> = std::fs::read_dir(&s.journal.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".orphaned-"))
        .collect();
    assert_eq!(aside.len(), 2, "{aside:?}");
    // the same plan over the file as it was is rolled forward
    std::fs::write(&s.mbox, &old).unwrap();
    std::fs::write(s.journal.data_path(), &plan.bytes).unwrap();
    s.journal.write_phase(phase, &check).unwrap();
    assert!(s.journal.recover(&file).unwrap());
    let mut expected = old[..58].to_vec();
    expected.extend_from_slice(&plan.bytes);
    assert_eq!(std::fs::read(&s.mbox).unwrap(), expected);
}
