fn main() {
    eprintln!("cote: not built yet");
    std::process::exit(1);
}
