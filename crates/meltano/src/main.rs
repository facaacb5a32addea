fn main() -> std::process::ExitCode {
    meltano::main()
}
