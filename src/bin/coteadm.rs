fn main() {
    eprintln!("coteadm: not built yet");
    std::process::exit(1);
}
