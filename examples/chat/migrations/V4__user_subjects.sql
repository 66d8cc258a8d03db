-- The chat API knows its users by their token's subject (JWT `sub`); email becomes optional.
ALTER TABLE users ADD COLUMN subject text;
ALTER TABLE users ADD CONSTRAINT users_subject_key UNIQUE (subject);
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_identified CHECK (subject IS NOT NULL OR email IS NOT NULL);
-- The API looks up a user's latest conversation on every message.
CREATE INDEX conversations_user_idx ON conversations (user_id, id);
