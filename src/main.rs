fn main() -> std::process::ExitCode {
    loyalty::cli::main()
}
