//! allm-core: the sans-IO stream core behind `allm._native`, free of PyO3.

/// The crate version; equals the Python package version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
