//! Compiles the dashboard (`static/`) into the binary: memory-serve lists its files with their
//! content types and SHA-256 ETags and, in release builds, brotli-compresses the text files.
//! Embedded in debug builds too, so every kktbot binary serves the same dashboard from any
//! directory (src/http/dashboard.rs).

fn main() {
    memory_serve::load_directory_with_embed("static", true);
}
