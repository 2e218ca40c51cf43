//! THREAD (RFC 5256): ORDEREDSUBJECT, REFERENCES and Dovecot's REFS, threading the messages
//! a search found exactly as Dovecot 2.3 does (`index-thread-links.c`,
//! `index-thread-finish.c`, `cmd-thread.c`), and the `* THREAD` answer.
//!
//! REFERENCES and REFS link messages by their Message-ID and References (In-Reply-To when
//! References has no ID): each ID is a node, a message fills its ID's node (a second message
//! with the same ID gets a node of its own that nothing can point to); References link each
//! ID to the next, the last one becomes the message's parent; a link that would make a loop,
//! or give a node a second parent, is left out. Nodes without a message ("dummies") are
//! skipped over, their children moved up. Then:
//! - REFERENCES orders the threads by their first message's date, and gathers threads whose
//!   roots have the same base subject (RFC 5256 step 5);
//! - REFS orders them by their latest message's date and does not look at subjects.
//!
//! Children are ordered by date (the Date: header, else the internal date), then UID.

use std::collections::HashMap;

use crate::imap::parser::search::ThreadAlgorithm;
use crate::mail::base_subject::base_subject;
use crate::mail::message_id::MessageIds;

/// What threading needs of one message of the mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadMessage {
    pub uid: u32,
    /// The search found it (only those are threaded; the others' IDs still count in the
    /// numbering of nodes, as in Dovecot's string map of the whole mailbox).
    pub matched: bool,
    /// The raw values of the first Message-ID, References, In-Reply-To and Subject headers.
    pub message_id: Option<Vec<u8>>,
    pub references: Option<Vec<u8>>,
    pub in_reply_to: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    /// The Date: header's time, else the internal date (as SORT DATE takes it).
    pub date: i64,
}

/// The threads found, as an arena: a thread may be as deep as the mailbox is long, so
/// nothing here (building, writing, dropping) recurses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Threads {
    nodes: Vec<TreeNode>,
    roots: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TreeNode {
    /// The message's UID; 0 for a dummy (only ever a root).
    id: u32,
    children: Vec<usize>,
}

impl Threads {
    /// Adds a message (or a dummy, `id` 0) under `parent` (`None`: a new thread); returns
    /// its handle.
    pub fn add(&mut self, parent: Option<usize>, id: u32) -> usize {
        let handle = self.nodes.len();
        self.nodes.push(TreeNode {
            id,
            children: Vec::new(),
        });
        match parent.and_then(|p| self.nodes.get_mut(p)) {
            Some(p) => p.children.push(handle),
            None => self.roots.push(handle),
        }
        handle
    }
}

/// The threads of the matched `messages` (all of the mailbox's, in UID order), by UID.
pub fn threads(algorithm: ThreadAlgorithm, messages: &[ThreadMessage]) -> Threads {
    match algorithm {
        ThreadAlgorithm::OrderedSubject => {
            let matched: Vec<&ThreadMessage> = messages.iter().filter(|m| m.matched).collect();
            ordered_subject(&matched)
        }
        ThreadAlgorithm::References => Finish::new(messages).references(),
        ThreadAlgorithm::Refs => Finish::new(messages).refs(),
    }
}

/// `* THREAD ...` (without CRLF), with `number` giving each UID's number in the answer.
/// Written as Dovecot's `imap_thread_write`: each thread in parentheses, a lone child after
/// its parent without them, siblings each in their own; a dummy parent shows only its
/// children.
pub fn thread_response(threads: &Threads, number: &dyn Fn(u32) -> u32) -> String {
    enum Work<'a> {
        Text(String),
        /// A list of siblings; `root`: the top level.
        List(&'a [usize], bool),
    }
    let mut out = String::from("* THREAD ");
    let mut work = vec![Work::List(&threads.roots, true)];
    while let Some(item) = work.pop() {
        let (list, root) = match item {
            Work::Text(text) => {
                out.push_str(&text);
                continue;
            }
            Work::List(list, root) => (list, root),
        };
        let node = |h: usize| &threads.nodes[h];
        if let ([only], false) = (list, root) {
            out.push_str(&number(node(*only).id).to_string());
            if !node(*only).children.is_empty() {
                out.push(' ');
                work.push(Work::List(&node(*only).children, false));
            }
            continue;
        }
        // pushed in reverse: the stack gives them back in order
        for &h in list.iter().rev() {
            let n = node(h);
            if n.children.is_empty() {
                work.push(Work::Text(format!("({})", number(n.id))));
            } else {
                work.push(Work::Text(")".into()));
                work.push(Work::List(&n.children, false));
                work.push(Work::Text(if n.id != 0 {
                    format!("({} ", number(n.id))
                } else {
                    "(".into()
                }));
            }
        }
    }
    out
}

/// ORDEREDSUBJECT: messages sorted by base subject, date and number; each run of one base
/// subject a thread (its first message the parent of the others), threads ordered by their
/// first message's date.
fn ordered_subject(messages: &[&ThreadMessage]) -> Threads {
    let mut sorted: Vec<(Vec<u8>, &ThreadMessage)> = messages
        .iter()
        .map(|&m| {
            let subject = m
                .subject
                .as_deref()
                .map(|s| base_subject(s).text)
                .unwrap_or_default();
            (subject, m)
        })
        .collect();
    sorted.sort_by(|a, b| (&a.0, a.1.date, a.1.uid).cmp(&(&b.0, b.1.date, b.1.uid)));
    let mut runs: Vec<(i64, Vec<u32>)> = Vec::new();
    let mut previous: Option<&[u8]> = None;
    for (subject, message) in &sorted {
        match runs.last_mut() {
            Some(run) if previous == Some(subject.as_slice()) => run.1.push(message.uid),
            _ => runs.push((message.date, vec![message.uid])),
        }
        previous = Some(subject);
    }
    runs.sort_by_key(|(date, uids)| (*date, uids[0]));
    let mut threads = Threads::default();
    for (_, uids) in runs {
        let first = threads.add(None, uids[0]);
        for &uid in &uids[1..] {
            threads.add(Some(first), uid);
        }
    }
    threads
}

/// A message-ID node (Dovecot's `mail_thread_node`).
#[derive(Debug, Clone, Copy, Default)]
struct Node {
    /// The message with this ID; 0 for a dummy.
    uid: u32,
    /// 0 for a root.
    parent: usize,
}

/// The links between nodes, built message by message in UID order.
struct Links {
    /// Index 0 is unused (0 means "none").
    nodes: Vec<Node>,
}

impl Links {
    fn node(&mut self, idx: usize) -> &mut Node {
        if self.nodes.len() <= idx {
            self.nodes.resize(idx + 1, Node::default());
        }
        &mut self.nodes[idx]
    }

    fn has_ancestor(&self, mut idx: usize, ancestor: usize) -> bool {
        while idx != ancestor {
            match self.nodes.get(idx) {
                Some(node) if node.parent != 0 => idx = node.parent,
                _ => return false,
            }
        }
        true
    }

    /// Makes `parent` the parent of `child`, unless that makes a loop or `child` has a
    /// parent already.
    fn link(&mut self, parent: usize, child: usize) {
        self.node(parent);
        self.node(child);
        if self.has_ancestor(parent, child) {
            return;
        }
        let child = self.node(child);
        if child.parent == 0 {
            child.parent = parent;
        }
    }

    /// A message: `id` its Message-ID's node (a free node when the ID is missing or
    /// taken), `references` the nodes of its References (or In-Reply-To).
    fn add(&mut self, uid: u32, id: usize, references: &[usize]) {
        self.node(id).uid = uid;
        let mut parent = 0;
        if let Some((&first, rest)) = references.split_first() {
            parent = first;
            for &reference in rest {
                self.link(parent, reference);
                parent = reference;
            }
        }
        let node = self.node(id);
        if node.parent != parent && node.parent != 0 {
            // the message's own References win over what others said of it
            node.parent = 0;
        }
        if parent != 0 {
            self.link(parent, id);
        }
    }
}

/// Builds the links of `messages`: every ID gets its node number in order of first
/// appearance (as Dovecot's string map numbers them), messages with a missing ID one of
/// their own there too, messages whose ID was taken one after all of them.
fn build_links(messages: &[ThreadMessage]) -> Links {
    let mut numbers: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut next = 1;
    let mut number = |id: Option<Vec<u8>>| -> usize {
        let n = match id {
            Some(id) => *numbers.entry(id).or_insert(next),
            None => next,
        };
        if n == next {
            next += 1;
        }
        n
    };
    let mut entries = Vec::with_capacity(messages.len());
    for m in messages {
        let id = number(
            m.message_id
                .as_deref()
                .and_then(|v| MessageIds::new(v).next()),
        );
        let mut references: Vec<usize> = m
            .references
            .as_deref()
            .map(|v| MessageIds::new(v).map(|r| number(Some(r))).collect())
            .unwrap_or_default();
        if references.is_empty() {
            if let Some(r) = m
                .in_reply_to
                .as_deref()
                .and_then(|v| MessageIds::new(v).next())
            {
                references.push(number(Some(r)));
            }
        }
        if m.matched {
            entries.push((m.uid, id, references));
        }
    }
    let mut links = Links {
        nodes: vec![Node::default(); next],
    };
    let mut duplicate = next;
    for (uid, mut id, references) in entries {
        if links.node(id).uid != 0 {
            id = duplicate;
            duplicate += 1;
        }
        links.add(uid, id, &references);
    }
    links
}

/// A node's child list (Dovecot's "shadow" nodes): children are prepended.
#[derive(Debug, Clone, Copy, Default)]
struct Shadow {
    first_child: usize,
    next_sibling: usize,
}

/// A child as ordered: its node, message and date.
#[derive(Debug, Clone, Copy, Default)]
struct Child {
    idx: usize,
    uid: u32,
    date: i64,
}

#[derive(Debug, Clone, Default)]
struct Root {
    node: Child,
    /// 1 + its place in `roots`; the root it merges into (the same numbering), 0 for none.
    root_idx1: usize,
    parent_root_idx1: usize,
    reply_or_forward: bool,
    dummy: bool,
    /// Not shown: a dummy without children, or a thread merged into another.
    ignore: bool,
}

/// Turning the links into ordered threads (`index-thread-finish.c`).
struct Finish<'a> {
    links: Links,
    messages: HashMap<u32, &'a ThreadMessage>,
    shadows: Vec<Shadow>,
    roots: Vec<Root>,
    next_new_root: usize,
}

impl<'a> Finish<'a> {
    fn new(messages: &'a [ThreadMessage]) -> Finish<'a> {
        let links = build_links(messages);
        let count = links.nodes.len();
        let mut finish = Finish {
            links,
            messages: messages
                .iter()
                .filter(|m| m.matched)
                .map(|m| (m.uid, m))
                .collect(),
            shadows: vec![Shadow::default(); count + 1],
            roots: Vec::new(),
            next_new_root: count + 1,
        };
        finish.create_shadows();
        finish
    }

    fn shadow(&mut self, idx: usize) -> &mut Shadow {
        if self.shadows.len() <= idx {
            self.shadows.resize(idx + 1, Shadow::default());
        }
        &mut self.shadows[idx]
    }

    fn add_child(&mut self, parent: usize, child: usize) {
        let first = self.shadow(parent).first_child;
        self.shadow(child).next_sibling = first;
        self.shadow(parent).first_child = child;
    }

    fn date(&self, uid: u32) -> i64 {
        self.messages.get(&uid).map_or(0, |m| m.date)
    }

    fn child(&self, idx: usize) -> Child {
        let uid = self.links.nodes.get(idx).map_or(0, |n| n.uid);
        Child {
            idx,
            uid,
            date: self.date(uid),
        }
    }

    /// Roots, and every message under its nearest ancestor that has one (or its root).
    fn create_shadows(&mut self) {
        for idx in 1..self.links.nodes.len() {
            let node = self.links.nodes[idx];
            if node.parent == 0 {
                let dummy = node.uid == 0;
                self.roots.push(Root {
                    node: Child {
                        idx,
                        uid: node.uid,
                        date: 0,
                    },
                    dummy,
                    ..Root::default()
                });
                continue;
            }
            if node.uid == 0 {
                continue;
            }
            let mut parent = node.parent;
            loop {
                let p = self.links.nodes[parent];
                if p.uid != 0 || p.parent == 0 {
                    break;
                }
                parent = p.parent;
            }
            self.add_child(parent, idx);
        }
    }

    /// A node's children ordered by date and UID (a lone child needs no date).
    fn sorted_children(&self, parent: usize) -> Vec<Child> {
        let mut children = Vec::new();
        let mut idx = self.shadows.get(parent).map_or(0, |s| s.first_child);
        if idx != 0 && self.shadows[idx].next_sibling == 0 {
            let uid = self.links.nodes.get(idx).map_or(0, |n| n.uid);
            return vec![Child { idx, uid, date: 0 }];
        }
        while idx != 0 {
            children.push(self.child(idx));
            idx = self.shadows[idx].next_sibling;
        }
        children.sort_by_key(|c| (c.date, c.uid));
        children
    }

    /// REFERENCES step 4: roots by date (a dummy by its first child's, or replaced by its
    /// only child).
    fn sort_roots(&mut self) {
        for i in 0..self.roots.len() {
            if self.roots[i].ignore {
                continue;
            }
            if self.roots[i].dummy {
                let idx = self.roots[i].node.idx;
                if self.shadows.get(idx).is_none_or(|s| s.first_child == 0) {
                    self.roots[i].ignore = true;
                    continue;
                }
                let children = self.sorted_children(idx);
                if children.len() == 1 {
                    self.roots[i].node = self.child(children[0].idx);
                    self.roots[i].dummy = false;
                } else {
                    self.roots[i].node.uid = children[0].uid;
                    self.roots[i].node.date = children[0].date;
                }
            } else {
                self.roots[i].node = self.child(self.roots[i].node.idx);
            }
        }
        self.roots.sort_by_key(|r| (r.node.date, r.node.uid));
    }

    /// REFERENCES step 5(B): the subject table.
    fn gather_subjects(&mut self) {
        let mut table: HashMap<Vec<u8>, usize> = HashMap::new();
        for i in 0..self.roots.len() {
            self.roots[i].root_idx1 = i + 1;
            let idx = if !self.roots[i].dummy {
                self.roots[i].node.idx
            } else if !self.roots[i].ignore {
                // the oldest child speaks for a dummy
                match self.sorted_children(self.roots[i].node.idx).first() {
                    Some(child) => child.idx,
                    None => continue,
                }
            } else {
                continue;
            };
            let uid = self.links.nodes.get(idx).map_or(0, |n| n.uid);
            let Some(subject) = self.messages.get(&uid).and_then(|m| m.subject.as_deref()) else {
                continue;
            };
            let base = base_subject(subject);
            if base.text.is_empty() {
                continue;
            }
            match table.get(&base.text) {
                None => {
                    table.insert(base.text, i);
                }
                Some(&held) => {
                    let held_root = &self.roots[held];
                    if !held_root.dummy
                        && (self.roots[i].dummy
                            || (held_root.reply_or_forward && !base.reply_or_forward))
                    {
                        self.roots[held].parent_root_idx1 = i + 1;
                        table.insert(base.text, i);
                    } else {
                        self.roots[i].parent_root_idx1 = self.roots[held].root_idx1;
                    }
                }
            }
            self.roots[i].reply_or_forward = base.reply_or_forward;
        }
    }

    /// REFERENCES step 5(C): a root merges into the thread holding its subject.
    fn merge_into_subject_thread(&mut self, cur: usize) {
        let mut top = cur;
        while self.roots[top].parent_root_idx1 != 0 {
            top = self.roots[top].parent_root_idx1 - 1;
        }
        if self.roots[cur].dummy {
            // both dummies: the children of both become siblings
            let target = self.roots[top].node.idx;
            let mut idx = self.shadow(self.roots[cur].node.idx).first_child;
            while idx != 0 {
                let next = self.shadows[idx].next_sibling;
                self.add_child(target, idx);
                idx = next;
            }
            let cur_idx = self.roots[cur].node.idx;
            self.shadow(cur_idx).first_child = 0;
            self.roots[cur].ignore = true;
        } else if self.roots[top].dummy
            || (self.roots[cur].reply_or_forward && !self.roots[top].reply_or_forward)
        {
            self.add_child(self.roots[top].node.idx, self.roots[cur].node.idx);
            self.roots[cur].ignore = true;
        } else {
            // a new dummy holds both
            let idx = self.next_new_root;
            self.next_new_root += 1;
            let root_idx1 = self.roots.len() + 1;
            self.add_child(idx, self.roots[top].node.idx);
            self.add_child(idx, self.roots[cur].node.idx);
            self.roots[top].parent_root_idx1 = root_idx1;
            self.roots[top].ignore = true;
            self.roots[cur].ignore = true;
            self.roots.push(Root {
                node: Child {
                    idx,
                    uid: 0,
                    date: 0,
                },
                root_idx1,
                dummy: true,
                ..Root::default()
            });
        }
    }

    fn references(mut self) -> Threads {
        self.sort_roots();
        self.gather_subjects();
        let count = self.roots.len();
        let mut merged = false;
        for i in 0..count {
            if self.roots[i].parent_root_idx1 != 0 && !self.roots[i].ignore {
                self.merge_into_subject_thread(i);
                merged = true;
            }
        }
        if merged {
            self.sort_roots();
        }
        self.answer()
    }

    /// REFS: threads ordered by their latest message.
    fn refs(mut self) -> Threads {
        for idx in 1..self.links.nodes.len() {
            let node = self.links.nodes[idx];
            if node.uid == 0 {
                continue;
            }
            let date = self.date(node.uid);
            let mut top = idx;
            while self.links.nodes[top].parent != 0 {
                top = self.links.nodes[top].parent;
            }
            // roots are in node order
            if let Ok(r) = self.roots.binary_search_by_key(&top, |r| r.node.idx) {
                let root = &mut self.roots[r].node;
                root.date = root.date.max(date);
            }
        }
        self.roots.sort_by_key(|r| (r.node.date, r.node.uid));
        self.answer()
    }

    /// The roots shown, in order (dummies without children left out), and every message
    /// under its parent, children by date.
    fn answer(&self) -> Threads {
        let mut threads = Threads::default();
        let has_children = |idx: usize| self.shadows.get(idx).is_some_and(|s| s.first_child != 0);
        let mut pending = Vec::new();
        for root in self.roots.iter().filter(|r| !r.ignore) {
            let id = if root.dummy { 0 } else { root.node.uid };
            if id == 0 && !has_children(root.node.idx) {
                continue;
            }
            let handle = threads.add(None, id);
            pending.push((handle, root.node.idx));
        }
        while let Some((handle, idx)) = pending.pop() {
            if !has_children(idx) {
                continue;
            }
            for child in self.sorted_children(idx) {
                let child_handle = threads.add(Some(handle), child.uid);
                pending.push((child_handle, child.idx));
            }
        }
        threads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(uid: u32, id: &str, refs: &str, subject: &str, date: i64) -> ThreadMessage {
        let opt = |s: &str| (!s.is_empty()).then(|| s.as_bytes().to_vec());
        ThreadMessage {
            uid,
            matched: true,
            message_id: opt(id),
            references: opt(refs),
            in_reply_to: None,
            subject: opt(subject),
            date,
        }
    }

    fn answer(algorithm: ThreadAlgorithm, messages: &[ThreadMessage]) -> String {
        thread_response(&threads(algorithm, messages), &|uid| uid)
    }

    #[test]
    fn format_as_rfc5256() {
        // (2)(3 6 (4 23)(44 7 96))
        let mut t = Threads::default();
        t.add(None, 2);
        let three = t.add(None, 3);
        let six = t.add(Some(three), 6);
        let four = t.add(Some(six), 4);
        t.add(Some(four), 23);
        let fortyfour = t.add(Some(six), 44);
        let seven = t.add(Some(fortyfour), 7);
        t.add(Some(seven), 96);
        assert_eq!(
            thread_response(&t, &|n| n),
            "* THREAD (2)(3 6 (4 23)(44 7 96))"
        );
        // a dummy parent: ((3)(5))
        let mut t = Threads::default();
        let dummy = t.add(None, 0);
        t.add(Some(dummy), 3);
        t.add(Some(dummy), 5);
        assert_eq!(thread_response(&t, &|n| n), "* THREAD ((3)(5))");
        assert_eq!(thread_response(&Threads::default(), &|n| n), "* THREAD ");
    }

    /// A chain as long as a big mailbox is threaded and written without recursion.
    #[test]
    fn deep_chains_do_not_recurse() {
        let count = 200_000u32;
        let mut t = Threads::default();
        let mut parent = None;
        for id in 1..=count {
            parent = Some(t.add(parent, id));
        }
        let text = thread_response(&t, &|n| n);
        assert!(text.starts_with("* THREAD (1 2 3 "));
        assert!(text.ends_with(&format!("{} {count})", count - 1)));
        let messages: Vec<ThreadMessage> = (1..=2_000u32)
            .map(|uid| {
                let refs = (uid > 1).then(|| format!("<{}@x>", uid - 1).into_bytes());
                ThreadMessage {
                    uid,
                    matched: true,
                    message_id: Some(format!("<{uid}@x>").into_bytes()),
                    references: refs,
                    date: i64::from(uid),
                    ..ThreadMessage::default()
                }
            })
            .collect();
        let text = thread_response(&threads(ThreadAlgorithm::References, &messages), &|n| n);
        assert!(text.ends_with("1999 2000)"), "{}", &text[text.len() - 40..]);
    }

    #[test]
    fn references_links_and_subjects() {
        let messages = [
            msg(1, "<1@x>", "", "hello", 10),
            msg(2, "<2@x>", "<1@x>", "Re: hello", 20),
            msg(3, "<3@x>", "<1@x> <2@x>", "Re: hello", 30),
            msg(4, "<4@x>", "", "other", 5),
            // its parent is not here: a dummy root with two children
            msg(5, "<5@x>", "<missing@x>", "Re: gone", 40),
            msg(6, "<6@x>", "<missing@x>", "Re: gone", 41),
            // same subject as 1, no references: merged under 1
            msg(7, "<7@x>", "", "Re: hello", 50),
        ];
        assert_eq!(
            answer(ThreadAlgorithm::References, &messages),
            "* THREAD (4)(1 (2 3)(7))((5)(6))"
        );
        assert_eq!(
            answer(ThreadAlgorithm::Refs, &messages),
            "* THREAD (4)(1 2 3)((5)(6))(7)"
        );
        assert_eq!(
            answer(ThreadAlgorithm::OrderedSubject, &messages),
            "* THREAD (4)(1 (2)(3)(7))(5 6)"
        );
    }

    #[test]
    fn loops_and_duplicates() {
        let messages = [
            msg(1, "<a@x>", "<b@x>", "", 1),
            msg(2, "<b@x>", "<a@x>", "", 2),
            // a duplicate ID: a thread of its own
            msg(3, "<a@x>", "", "", 3),
            // its own ID in its references
            msg(4, "<d@x>", "<d@x>", "", 4),
        ];
        assert_eq!(
            answer(ThreadAlgorithm::References, &messages),
            "* THREAD (2 1)(3)(4)"
        );
    }
}
