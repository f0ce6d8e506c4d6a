fn main() {
    if let Err(e) = claimledger::cli::run() {
        eprintln!("claimledger: {e}");
        std::process::exit(1);
    }
}
