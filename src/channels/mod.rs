pub mod email;
pub mod telegram;
pub mod outbound;
