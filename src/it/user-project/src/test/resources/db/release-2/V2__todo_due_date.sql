-- The next release's migration: it needs the todos table to itself for a moment.
ALTER TABLE todos ADD COLUMN due date;
