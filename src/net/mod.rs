//! net layer (see DESIGN.md §2).
