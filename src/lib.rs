//! The doctable workspace's test and example package; the crate itself is `doctable/`.
