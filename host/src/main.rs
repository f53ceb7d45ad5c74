fn main() {
    std::process::exit(pleo_host::cli::main());
}
