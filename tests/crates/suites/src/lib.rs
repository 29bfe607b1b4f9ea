//! Empty: this package only names the crates to fetch.
