fn main() {
    eprintln!("coteconf: not built yet");
    std::process::exit(1);
}
