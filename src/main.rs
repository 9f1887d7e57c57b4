fn main() {
    eprintln!("gstage: not yet");
    std::process::exit(1);
}
