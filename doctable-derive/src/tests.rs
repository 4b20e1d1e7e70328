use super::derive;
