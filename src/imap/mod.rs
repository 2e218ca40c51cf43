//! imap layer (see DESIGN.md §2).
