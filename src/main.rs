fn main() -> std::process::ExitCode {
    kktbot::cli::main()
}
