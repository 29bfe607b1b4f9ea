//! The little-endian reader the parsers use: pv-abi's, the one in the tree.
pub use pv_abi::le::*;
