fn main() {
    eprintln!("globus-emulator: not yet");
    std::process::exit(1);
}
