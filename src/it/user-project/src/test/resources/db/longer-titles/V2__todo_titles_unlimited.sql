-- The next release's migration: titles of any length. The type of a column the running release reads changes.
ALTER TABLE todos ALTER COLUMN title TYPE text;
