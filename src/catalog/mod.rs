//! The procedure catalog: its model, validation, the embedded demo and fee computation.

pub mod model;

pub use model::*;
