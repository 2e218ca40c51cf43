//! mail layer (see DESIGN.md §2): RFC 5322 / MIME messages as IMAP shows them — structure
//! with byte offsets, ENVELOPE, BODY/BODYSTRUCTURE, BODY[section] and BINARY data, sizes,
//! and the text SEARCH matches against — each as Dovecot 2.3 produces it. Pure code: the
//! storage layer hands over the bytes (or a reader); nothing here touches files.

pub mod address;
pub mod base_subject;
pub mod binary_append;
mod casemap_table;
pub mod codec;
pub mod date;
pub mod decode;
pub mod header;
mod html2text;
mod html_entities;
mod imap_write;
pub mod message_id;
pub mod parser;
pub mod part_data;
pub mod quote;
pub mod rfc2231;
pub mod rfc822;
pub mod search;
pub mod section;
pub mod snippet;

use std::cell::OnceCell;
use std::io::{self, Read};

pub use imap_write::StructureError;
pub use parser::{MessagePart, MessageSize, PartFlags};
pub use part_data::{ContentData, Envelope};
pub use section::{BinaryData, BinaryError, InvalidSection, Section, SectionText};

/// A message and its parsed MIME structure. Only the root header's end is found at once;
/// the structure is parsed the first time something needs it (header searches, ENVELOPE,
/// `BODY[]` and `BODY[HEADER...]` never do).
#[derive(Debug, Clone)]
pub struct Message {
    data: Vec<u8>,
    /// The root header is `data[..header_end]`.
    header_end: usize,
    root: OnceCell<MessagePart>,
}

impl Message {
    /// A message held in memory.
    pub fn parse(data: Vec<u8>) -> Message {
        let header_end = parser::root_body_offset(&data);
        Message {
            data,
            header_end,
            root: OnceCell::new(),
        }
    }

    /// Reads a whole message (e.g. a mail file the storage layer opened) and parses it.
    pub fn read_from<R: Read>(mut reader: R) -> io::Result<Message> {
        let mut data = Vec::new();
        reader.read_to_end(&mut data)?;
        Ok(Message::parse(data))
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn root(&self) -> &MessagePart {
        self.root.get_or_init(|| parser::parse(&self.data))
    }

    /// RFC822.SIZE: the size with every bare LF counted as CRLF.
    pub fn virtual_size(&self) -> u64 {
        MessageSize::of(&self.data, 0, self.data.len()).virtual_size
    }

    pub fn physical_size(&self) -> u64 {
        self.data.len() as u64
    }

    /// The root header's fields.
    pub fn header_fields(&self) -> Vec<header::HeaderField<'_>> {
        header::fields(&self.data, 0, self.header_end)
    }

    /// The value of the first root header `name`, as Dovecot's `mail_get_first_header`
    /// gives it: not decoded, its lines joined by LF.
    pub fn first_header(&self, name: &str) -> Option<Vec<u8>> {
        self.header_fields()
            .into_iter()
            .find(|f| f.is(name))
            .map(|f| f.value())
    }

    pub fn envelope(&self) -> Envelope {
        Envelope::from_fields(&self.header_fields())
    }

    /// `(...)`: the FETCH ENVELOPE value.
    pub fn imap_envelope(&self) -> Vec<u8> {
        let mut out = vec![b'('];
        imap_write::write_envelope(&mut out, &self.envelope());
        out.push(b')');
        out
    }

    /// `(...)`: the FETCH BODYSTRUCTURE value.
    pub fn imap_bodystructure(&self) -> Result<Vec<u8>, StructureError> {
        self.structure(true)
    }

    /// `(...)`: the FETCH BODY value.
    pub fn imap_body(&self) -> Result<Vec<u8>, StructureError> {
        self.structure(false)
    }

    fn structure(&self, extended: bool) -> Result<Vec<u8>, StructureError> {
        let mut out = vec![b'('];
        imap_write::write_message_structure(&mut out, &self.data, self.root(), extended)?;
        out.push(b')');
        Ok(out)
    }

    /// RFC 5524's BODYPARTSTRUCTURE: the BODYSTRUCTURE (without outer parentheses) of the
    /// part a section names, found as Dovecot's `imap_msgpart_find_part` finds it (the whole
    /// message without part numbers; a HEADER or TEXT section names a message/rfc822 part's
    /// message). With `binary`, the sizes and lines are those of the decoded data, as
    /// Dovecot's `imap_msgpart_vsizes_to_binary` gives them. `Ok(None)` when the message has
    /// no such part.
    pub fn part_bodystructure(
        &self,
        section: &Section,
        binary: bool,
    ) -> Result<Option<Vec<u8>>, PartStructureError> {
        let root = self.root();
        let part = if section.part.is_empty() {
            root
        } else {
            let Some(mut part) = section::find_part(root, &section.part) else {
                return Ok(None);
            };
            if !matches!(section.text, SectionText::Whole | SectionText::Mime) {
                match part.children.first() {
                    Some(message) if part.flags.message_rfc822 => part = message,
                    _ => return Ok(None),
                }
            }
            part
        };
        let decoded = if binary {
            Some(section::BinarySizes::of(&self.data, root).map_err(PartStructureError::Binary)?)
        } else {
            None
        };
        let sizes = |p: &MessagePart| match &decoded {
            Some(decoded) => decoded.size(root, p, false),
            None => p.body_size(&self.data),
        };
        let mut out = Vec::new();
        let written = if std::ptr::eq(part, root) {
            imap_write::write_message_structure_sized(&mut out, &self.data, root, true, &sizes)
        } else {
            let parent_digest = parent_is_digest(root, part).unwrap_or(false);
            imap_write::write_bodystructure_sized(
                &mut out,
                &self.data,
                part,
                parent_digest,
                true,
                &sizes,
            )
        };
        written.map_err(PartStructureError::Structure)?;
        Ok(Some(out))
    }

    /// BODY[section]<partial>: the data to send (CRLF line ends, NULs as 0x80).
    pub fn body_section(&self, section: &Section) -> Vec<u8> {
        let data = if section.part.is_empty() && section.text != SectionText::Text {
            // The whole message or its header: the header's end is all it takes.
            let root = MessagePart {
                offset: 0,
                body_offset: self.header_end,
                end: self.data.len(),
                flags: PartFlags::default(),
                children: Vec::new(),
            };
            section::body_section(&self.data, &root, section)
        } else {
            section::body_section(&self.data, self.root(), section)
        };
        section::apply_partial(data, section.partial)
    }

    /// BINARY[section]<partial>.
    pub fn binary_section(&self, section: &Section) -> Result<BinaryData, BinaryError> {
        let mut data = section::binary_section(&self.data, self.root(), section)?;
        data.data = section::apply_partial(data.data, section.partial);
        Ok(data)
    }

    /// BINARY.SIZE[section].
    pub fn binary_size(&self, section: &Section) -> Result<u64, BinaryError> {
        section::binary_size(&self.data, self.root(), section)
    }
}

/// Why a BODYPARTSTRUCTURE could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartStructureError {
    Structure(StructureError),
    /// Decoding for the decoded sizes failed.
    Binary(BinaryError),
}

/// Whether `target`'s parent below `node` is a multipart/digest (`None`: not below it).
fn parent_is_digest(node: &MessagePart, target: &MessagePart) -> Option<bool> {
    node.children.iter().find_map(|child| {
        if std::ptr::eq(child, target) {
            Some(node.flags.multipart_digest)
        } else {
            parent_is_digest(child, target)
        }
    })
}
