// Placeholder until the checks library lands.
