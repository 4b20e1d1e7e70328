//! Fuzz targets for doctable: see `targets` and fuzz/README.md.

pub mod targets;
