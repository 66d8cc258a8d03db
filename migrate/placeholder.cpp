// Placeholder until the migrate library lands.
