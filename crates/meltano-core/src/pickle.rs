//! Python pickle (placeholder for the codec being written).
