// Placeholder until the templates library lands.
