//! Helpers for booting Vireo in VMMs from tests.
