//! Load benchmark (placeholder while the listener is built).
fn main() {}
