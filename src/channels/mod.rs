pub mod email;
pub mod outbound;
pub mod telegram;
