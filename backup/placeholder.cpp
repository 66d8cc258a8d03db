// Placeholder until the backup library lands.
