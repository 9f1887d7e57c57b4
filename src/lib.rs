pub mod globus;
pub mod tokens;
