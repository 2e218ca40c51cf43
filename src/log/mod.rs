//! log layer (see DESIGN.md §2).
