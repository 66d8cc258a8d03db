-- memo-coach: the first migration (the app's own schema goes here).
CREATE TABLE IF NOT EXISTS app_info (key text PRIMARY KEY, value text NOT NULL);
