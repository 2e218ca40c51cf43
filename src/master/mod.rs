//! master layer (see DESIGN.md §2).
