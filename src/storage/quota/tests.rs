//! The quota over real Maildirs: enforcement, updates and the file Dovecot shares.
