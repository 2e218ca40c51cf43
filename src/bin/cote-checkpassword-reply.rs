//! `cote-checkpassword-reply`: Dovecot's checkpassword-reply for cote. A checkpassword program
//! runs it after a successful check; it writes the user's fields to fd 4 for the auth process.

fn main() {
    std::process::exit(cote::auth::db::checkpassword::reply_main());
}
